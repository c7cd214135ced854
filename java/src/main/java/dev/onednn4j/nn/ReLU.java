package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code max(0, x)} element by element, as PyTorch's {@code nn.ReLU}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 *
 * <pre>{@code
 * try (ReLU act = new ReLU(); Tensor y = act.forward(x)) { ... }
 * }</pre>
 */
public final class ReLU extends Activation {

    /** {@code nn.ReLU()}. */
    public ReLU() {
        this(false);
    }

    /**
     * {@code nn.ReLU(inplace)}: with {@code inplace}, {@code forward} overwrites its input.
     *
     * @param inplace whether {@code forward} writes the result into its input (which must then be writable)
     */
    public ReLU(boolean inplace) {
        super(Eltwise.Kind.RELU, 0, inplace);
    }
}
