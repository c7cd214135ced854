package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code tanh(x)} element by element, as PyTorch's {@code nn.Tanh}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 */
public final class Tanh extends Activation {

    /** {@code nn.Tanh()}. */
    public Tanh() {
        super(Eltwise.Kind.TANH, 0, false);
    }
}
