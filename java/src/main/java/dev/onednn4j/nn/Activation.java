package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.op.Eltwise;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.Tensor;
import java.util.Objects;

/**
 * What every element-wise activation shares: the oneDNN eltwise primitive on any shape and layout, and
 * PyTorch's {@code inplace}: an in-place activation overwrites its input and returns it (as a new tensor
 * handle over the same memory, which the caller closes like any result).
 */
abstract class Activation extends OperationModule {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final Eltwise.Kind kind;
    private final float parameter;
    private final boolean inplace;

    Activation(Eltwise.Kind kind, float parameter, boolean inplace) {
        this.kind = kind;
        this.parameter = parameter;
        this.inplace = inplace;
    }

    /**
     * Whether {@link #forward(Tensor)} overwrites its input, as PyTorch's {@code inplace=True}.
     *
     * @return the {@code inplace} the layer was built with
     */
    public final boolean inplace() {
        return inplace;
    }

    @Override
    final Operation resolve(long[] shape) {
        return new Eltwise(kind, parameter, shape);
    }

    /**
     * The activation of {@code input}: a new tensor, or with {@code inplace} the input itself overwritten (returned
     * as a tensor the caller closes; the input stays open too).
     */
    @Override
    public Tensor forward(Tensor input) {
        if (!inplace) {
            return super.forward(input);
        }
        ensureOpen();
        Objects.requireNonNull(input, "input");
        if (input.isReadOnly()) {
            throw new IllegalArgumentException(getName() + "(inplace=True) cannot write into the read-only " + input);
        }
        run(operation(input), input, input);
        return FACE.of(FACE.impl(input).alias());
    }

    /** An element-wise activation may write over its input: {@code forward(x, x)} runs in place. */
    @Override
    final boolean runsInPlace() {
        return true;
    }

    /** {@code inplace=True} in the repr when set, as PyTorch prints it. */
    String inplaceRepr() {
        return inplace ? "inplace=True" : "";
    }

    @Override
    public String extraRepr() {
        return inplaceRepr();
    }
}
