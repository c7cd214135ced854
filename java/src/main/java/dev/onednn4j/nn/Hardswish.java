package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code x * min(max(x + 3, 0), 6) / 6} element by element, as PyTorch's {@code nn.Hardswish}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 *
 * <pre>{@code
 * try (Hardswish act = new Hardswish(); Tensor y = act.forward(x)) { ... }
 * }</pre>
 */
public final class Hardswish extends Activation {

    /** {@code nn.Hardswish()}. */
    public Hardswish() {
        this(false);
    }

    /**
     * {@code nn.Hardswish(inplace)}: with {@code inplace}, {@code forward} overwrites its input.
     *
     * @param inplace whether {@code forward} writes the result into its input (which must then be writable)
     */
    public Hardswish(boolean inplace) {
        super(Eltwise.Kind.HARDSWISH, 0, inplace);
    }

    /** PyTorch prints no arguments for {@code nn.Hardswish}, inplace or not. */
    @Override
    public String extraRepr() {
        return "";
    }
}
