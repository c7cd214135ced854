package dev.onednn4j.internal.memory;

/**
 * The element types of the memory under a tensor, as the machinery below the public API sees them: the same
 * constants, in the same order, as the public {@code DType}, which maps onto this by name.
 */
public enum ElementType {
    FLOAT32(4, "float32", true),
    FLOAT64(8, "float64", true),
    FLOAT16(2, "float16", true),
    BFLOAT16(2, "bfloat16", true),
    INT64(8, "int64", false),
    INT32(4, "int32", false),
    INT16(2, "int16", false),
    INT8(1, "int8", false),
    UINT8(1, "uint8", false),
    BOOL(1, "bool", false);

    private final int byteSize;
    private final String torchName;
    private final boolean floatingPoint;

    ElementType(int byteSize, String torchName, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.torchName = torchName;
        this.floatingPoint = floatingPoint;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether this is a floating-point type. */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** PyTorch's name without the {@code torch.} prefix, e.g. {@code float32}. */
    @Override
    public String toString() {
        return torchName;
    }
}
