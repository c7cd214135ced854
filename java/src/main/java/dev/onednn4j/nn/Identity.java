package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.tensor.Tensor;
import java.util.Objects;

/**
 * Returns its input, as PyTorch's {@code nn.Identity}: a placeholder (e.g. for a layer removed from a network).
 * The result is a new tensor over the input's memory, no copy, which the caller closes like any result; closing it
 * never frees the input.
 */
public final class Identity extends Module {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    /** {@code nn.Identity()}. */
    public Identity() {}

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        return FACE.of(FACE.impl(input).alias());
    }
}
