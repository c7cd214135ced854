package dev.onednn4j.tensor;

/**
 * Element type of a {@link Tensor}, named as PyTorch names it ({@code torch.float32}, {@code torch.int64}, ...).
 *
 * <p>Every layer computes in {@link #FLOAT32}. The other types hold what state dicts carry besides weights
 * (BatchNorm's {@code num_batches_tracked} is {@link #INT64}), what weight files store in other precisions
 * ({@link #FLOAT16}, {@link #BFLOAT16}, {@link #FLOAT64}), and integer and boolean data; {@link Tensor#copyFrom(Tensor)}
 * converts between any two, as PyTorch's {@code copy_} does.
 */
public enum DType {
    /** IEEE 754 binary32, {@code torch.float32}: what every layer computes in. */
    FLOAT32(4, "float32", true),
    /** IEEE 754 binary64, {@code torch.float64}. */
    FLOAT64(8, "float64", true),
    /** IEEE 754 binary16, {@code torch.float16}. */
    FLOAT16(2, "float16", true),
    /** bfloat16 (the upper half of a float32), {@code torch.bfloat16}. */
    BFLOAT16(2, "bfloat16", true),
    /** Signed 64-bit integer, {@code torch.int64}. */
    INT64(8, "int64", false),
    /** Signed 32-bit integer, {@code torch.int32}. */
    INT32(4, "int32", false),
    /** Signed 16-bit integer, {@code torch.int16}. */
    INT16(2, "int16", false),
    /** Signed 8-bit integer, {@code torch.int8}. */
    INT8(1, "int8", false),
    /** Unsigned 8-bit integer, {@code torch.uint8}. */
    UINT8(1, "uint8", false),
    /** Boolean, one byte holding 0 or 1, {@code torch.bool}. */
    BOOL(1, "bool", false);

    private final int byteSize;
    private final String torchName;
    private final boolean floatingPoint;

    DType(int byteSize, String torchName, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.torchName = torchName;
        this.floatingPoint = floatingPoint;
    }

    /**
     * Bytes per element.
     *
     * @return the size of one element in bytes: 1, 2, 4 or 8 (1 for {@link #BOOL})
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Whether this is a floating-point type, as PyTorch's {@code dtype.is_floating_point}.
     *
     * @return true for {@link #FLOAT32}, {@link #FLOAT64}, {@link #FLOAT16} and {@link #BFLOAT16}
     */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** PyTorch's name without the {@code torch.} prefix, e.g. {@code float32}. */
    @Override
    public String toString() {
        return torchName;
    }
}
