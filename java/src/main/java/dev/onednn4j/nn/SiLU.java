package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code x * sigmoid(x)} (the swish) element by element, as PyTorch's {@code nn.SiLU}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 *
 * <pre>{@code
 * try (SiLU act = new SiLU(); Tensor y = act.forward(x)) { ... }
 * }</pre>
 */
public final class SiLU extends Activation {

    /** {@code nn.SiLU()}. */
    public SiLU() {
        this(false);
    }

    /**
     * {@code nn.SiLU(inplace)}: with {@code inplace}, {@code forward} overwrites its input.
     *
     * @param inplace whether {@code forward} writes the result into its input (which must then be writable)
     */
    public SiLU(boolean inplace) {
        super(Eltwise.Kind.SILU, 0, inplace);
    }
}
