package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code 1 / (1 + exp(-x))} element by element, as PyTorch's {@code nn.Sigmoid}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 */
public final class Sigmoid extends Activation {

    /** {@code nn.Sigmoid()}. */
    public Sigmoid() {
        super(Eltwise.Kind.SIGMOID, 0, false);
    }
}
