package dev.onednn4j.internal.memory;

import java.util.Arrays;

/**
 * How a tensor's elements lie in memory, as the machinery below the public API sees it: the same constants as the
 * public {@code MemoryFormat}, which maps onto this by name. The shape is always logical, (N, C, H, W) for images.
 */
public enum Format {
    /** Row-major over the shape. */
    CONTIGUOUS("contiguous_format"),
    /** NHWC, 4-D only. */
    CHANNELS_LAST("channels_last");

    private final String torchName;

    Format(String torchName) {
        this.torchName = torchName;
    }

    /**
     * Strides in elements for {@code shape} in this format, one per dimension in the order of {@code shape}.
     *
     * @throws IllegalArgumentException for {@link #CHANNELS_LAST} and a shape that is not 4-D
     */
    public long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        if (this == CHANNELS_LAST) {
            if (shape.length != 4) {
                throw new IllegalArgumentException(
                        "channels_last memory format needs a 4-D (N, C, H, W) shape, got " + Arrays.toString(shape));
            }
            long c = shape[1];
            long h = shape[2];
            long w = shape[3];
            s[1] = 1;
            s[3] = c;
            s[2] = w * c;
            s[0] = h * w * c;
            return s;
        }
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    @Override
    public String toString() {
        return torchName;
    }
}
