package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code min(max(0, x), 6)} element by element, as PyTorch's {@code nn.ReLU6}, on oneDNN's eltwise primitive. Any shape
 * and layout; the output keeps the input's.
 *
 * <pre>{@code
 * try (ReLU6 act = new ReLU6(); Tensor y = act.forward(x)) { ... }
 * }</pre>
 */
public final class ReLU6 extends Activation {

    /** {@code nn.ReLU6()}. */
    public ReLU6() {
        this(false);
    }

    /**
     * {@code nn.ReLU6(inplace)}: with {@code inplace}, {@code forward} overwrites its input.
     *
     * @param inplace whether {@code forward} writes the result into its input (which must then be writable)
     */
    public ReLU6(boolean inplace) {
        super(Eltwise.Kind.RELU6, 0, inplace);
    }
}
