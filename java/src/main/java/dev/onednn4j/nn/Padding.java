package dev.onednn4j.nn;

/** PyTorch's string paddings for {@code Conv2d}: {@code padding='valid'} and {@code padding='same'}. */
public enum Padding {
    /** No padding: the same as {@code padding(0)}. */
    VALID,
    /**
     * Pads so the output has the input's size (stride 1 only). The total per dimension is
     * {@code dilation * (kernel - 1)}; an odd total puts the extra row or column at the bottom/right.
     */
    SAME;

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
