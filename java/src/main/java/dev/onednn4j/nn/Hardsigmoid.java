package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code min(max(x + 3, 0), 6) / 6} element by element, as PyTorch's {@code nn.Hardsigmoid}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 *
 * <pre>{@code
 * try (Hardsigmoid act = new Hardsigmoid(); Tensor y = act.forward(x)) { ... }
 * }</pre>
 */
public final class Hardsigmoid extends Activation {

    /** {@code nn.Hardsigmoid()}. */
    public Hardsigmoid() {
        this(false);
    }

    /**
     * {@code nn.Hardsigmoid(inplace)}: with {@code inplace}, {@code forward} overwrites its input.
     *
     * @param inplace whether {@code forward} writes the result into its input (which must then be writable)
     */
    public Hardsigmoid(boolean inplace) {
        super(Eltwise.Kind.HARDSIGMOID, 0, inplace);
    }

    /** PyTorch prints no arguments for {@code nn.Hardsigmoid}, inplace or not. */
    @Override
    public String extraRepr() {
        return "";
    }
}
