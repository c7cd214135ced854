package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;
import java.util.Objects;

/**
 * Merges dimensions {@code startDim} to {@code endDim} into one, as PyTorch's {@code nn.Flatten} (default
 * {@code startDim = 1}, {@code endDim = -1}: (N, C, H, W) to (N, C*H*W)). The result is a view of the input where
 * the memory allows (a contiguous tensor, or a channels-last one of 1x1 pixels) and a contiguous copy otherwise,
 * as {@code torch.flatten}; either way the caller closes it, and closing it never frees the input.
 */
public final class Flatten extends Module {
    private final int startDim;
    private final int endDim;

    /** {@code nn.Flatten()}: dims 1 to the last. */
    public Flatten() {
        this(1, -1);
    }

    /**
     * {@code nn.Flatten(start_dim, end_dim)}; negative dims count from the end.
     *
     * @param startDim the first dimension to merge
     * @param endDim   the last dimension to merge, inclusive; checked against each input's rank in {@code forward}
     */
    public Flatten(int startDim, int endDim) {
        this.startDim = startDim;
        this.endDim = endDim;
    }

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        return input.flatten(startDim, endDim);
    }

    @Override
    public String extraRepr() {
        return "start_dim=" + startDim + ", end_dim=" + endDim;
    }
}
