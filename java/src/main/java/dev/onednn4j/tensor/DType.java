package dev.onednn4j.tensor;

/** Element type of a {@link Tensor}. float32 today; the enum leaves room for bfloat16. */
public enum DType {
    /** IEEE 754 binary32, PyTorch's {@code torch.float32}. */
    FLOAT32(4, "float32");

    private final int byteSize;
    private final String torchName;

    DType(int byteSize, String torchName) {
        this.byteSize = byteSize;
        this.torchName = torchName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    @Override
    public String toString() {
        return torchName;
    }
}
