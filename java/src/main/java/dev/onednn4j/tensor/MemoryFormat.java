package dev.onednn4j.tensor;

import dev.onednn4j.internal.memory.Format;

/**
 * How a 4-D tensor's (N, C, H, W) elements lie in memory, as PyTorch's {@code memory_format}.
 * The shape is always given in (N, C, H, W) order; only the strides differ.
 */
public enum MemoryFormat {
    /** Row-major over the shape: NCHW for 4-D, PyTorch's {@code torch.contiguous_format}. */
    CONTIGUOUS,
    /**
     * NHWC: the channels of a pixel are adjacent, PyTorch's {@code torch.channels_last}. oneDNN's fast
     * convolutions work in this layout, so a channels-last input reaches oneDNN without a reorder.
     * 4-D tensors only.
     */
    CHANNELS_LAST;

    /** The same format below the public API, which computes its strides. */
    private final Format format = Format.valueOf(name());

    /**
     * Strides in elements for {@code shape} in this format.
     *
     * @param shape the logical shape, (N, C, H, W) for images
     * @return a new array of strides in elements (not bytes), one per dimension in the order of {@code shape}:
     *     {@code (C*H*W, H*W, W, 1)} contiguous, {@code (H*W*C, 1, W*C, C)} channels-last
     * @throws IllegalArgumentException for {@link #CHANNELS_LAST} and a shape that is not 4-D
     */
    public long[] strides(long[] shape) {
        return format.strides(shape);
    }

    @Override
    public String toString() {
        return format.toString();
    }
}
