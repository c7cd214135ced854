package dev.onednn4j.tensor;

import dev.onednn4j.internal.memory.ElementType;

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
    FLOAT32,
    /** IEEE 754 binary64, {@code torch.float64}. */
    FLOAT64,
    /** IEEE 754 binary16, {@code torch.float16}. */
    FLOAT16,
    /** bfloat16 (the upper half of a float32), {@code torch.bfloat16}. */
    BFLOAT16,
    /** Signed 64-bit integer, {@code torch.int64}. */
    INT64,
    /** Signed 32-bit integer, {@code torch.int32}. */
    INT32,
    /** Signed 16-bit integer, {@code torch.int16}. */
    INT16,
    /** Signed 8-bit integer, {@code torch.int8}. */
    INT8,
    /** Unsigned 8-bit integer, {@code torch.uint8}. */
    UINT8,
    /** Boolean, one byte holding 0 or 1, {@code torch.bool}. */
    BOOL;

    /** The same type below the public API, which holds its facts. */
    private final ElementType type = ElementType.valueOf(name());

    /**
     * Bytes per element.
     *
     * @return the size of one element in bytes: 1, 2, 4 or 8 (1 for {@link #BOOL})
     */
    public int byteSize() {
        return type.byteSize();
    }

    /**
     * Whether this is a floating-point type, as PyTorch's {@code dtype.is_floating_point}.
     *
     * @return true for {@link #FLOAT32}, {@link #FLOAT64}, {@link #FLOAT16} and {@link #BFLOAT16}
     */
    public boolean isFloatingPoint() {
        return type.isFloatingPoint();
    }

    /** PyTorch's name without the {@code torch.} prefix, e.g. {@code float32}. */
    @Override
    public String toString() {
        return type.toString();
    }
}
