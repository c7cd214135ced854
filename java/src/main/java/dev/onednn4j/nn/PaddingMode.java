package dev.onednn4j.nn;

import dev.onednn4j.internal.op.PadMode;
import java.util.Arrays;
import java.util.Locale;

/** What a {@code Conv2d} reads beyond the input's edges, as PyTorch's {@code padding_mode}. */
public enum PaddingMode {
    /** Zeros. */
    ZEROS,
    /** The input mirrored at its edge, the edge itself not repeated: needs padding &lt; input size. */
    REFLECT,
    /** The edge value repeated. */
    REPLICATE,
    /** The input wrapped around: needs padding &lt;= input size. */
    CIRCULAR;

    /** PyTorch's spelling, e.g. {@code "zeros"}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses PyTorch's spelling.
     *
     * @param name {@code "zeros"}, {@code "reflect"}, {@code "replicate"} or {@code "circular"}
     * @return the mode of that name
     * @throws IllegalArgumentException for any other name, listing the valid ones
     */
    public static PaddingMode of(String name) {
        for (PaddingMode m : values()) {
            if (m.toString().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("padding_mode must be one of "
                + Arrays.stream(values()).map(m -> "'" + m + "'").toList() + ", but got padding_mode='" + name + "'");
    }

    /**
     * The input index that padded index {@code i} reads, for an input of {@code size} along that
     * dimension; -1 for a zero. {@code i} may be negative or past the end by at most the padding.
     *
     * @param i    the index in the padded dimension, counted from the input's first element (so -1 is the first
     *             padded row or column before it)
     * @param size the input's size along that dimension
     * @return an index in {@code [0, size)}, or -1 where {@link #ZEROS} pads
     */
    public int sourceIndex(int i, int size) {
        return padMode().sourceIndex(i, size);
    }

    /** The arithmetic of this mode, as the operations use it. */
    PadMode padMode() {
        return PadMode.valueOf(name());
    }
}
