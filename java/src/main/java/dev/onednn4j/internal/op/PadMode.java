package dev.onednn4j.internal.op;

/** What a padded index reads beyond the input's edge: the arithmetic behind PyTorch's {@code padding_mode}. */
public enum PadMode {
    ZEROS,
    REFLECT,
    REPLICATE,
    CIRCULAR;

    /**
     * The input index that padded index {@code i} reads, for an input of {@code size} along that
     * dimension; -1 for a zero. {@code i} may be negative or past the end by at most the padding.
     */
    public int sourceIndex(int i, int size) {
        if (i >= 0 && i < size) {
            return i;
        }
        return switch (this) {
            case ZEROS -> -1;
            case REFLECT -> i < 0 ? -i : 2 * (size - 1) - i;
            case REPLICATE -> i < 0 ? 0 : size - 1;
            case CIRCULAR -> Math.floorMod(i, size);
        };
    }
}
