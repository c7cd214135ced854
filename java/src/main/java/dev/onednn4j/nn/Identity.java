package dev.onednn4j.nn;

import dev.onednn4j.internal.TensorAccess;
import dev.onednn4j.tensor.Tensor;
import java.util.Objects;

/**
 * Returns its input, as PyTorch's {@code nn.Identity}: a placeholder (e.g. for a layer removed from a network).
 * The result is a new tensor over the input's memory, no copy, which the caller closes like any result; closing it
 * never frees the input.
 */
public final class Identity extends Module {

    /** {@code nn.Identity()}. */
    public Identity() {}

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        return TensorAccess.get().alias(input);
    }
}
