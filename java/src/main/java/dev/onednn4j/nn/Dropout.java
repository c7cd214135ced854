package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.tensor.Tensor;
import java.util.Objects;

/**
 * Dropout, as PyTorch's {@code nn.Dropout(p)}: in eval mode the identity (the input, as a new tensor over the same
 * memory that the caller closes). Training mode would zero random elements and scale the rest by
 * {@code 1 / (1 - p)}; this library computes inference only, so {@code forward} in training mode throws
 * {@link UnsupportedOperationException} (unless {@code p} is 0): call {@code eval()} first.
 */
public final class Dropout extends Module {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final double p;
    private final boolean inplace;

    /** {@code nn.Dropout()}: p = 0.5. */
    public Dropout() {
        this(0.5);
    }

    /**
     * {@code nn.Dropout(p)}.
     *
     * @param p the probability of an element to be zeroed in training, in [0, 1]
     * @throws IllegalArgumentException if {@code p} is not in [0, 1]
     */
    public Dropout(double p) {
        this(p, false);
    }

    /**
     * {@code nn.Dropout(p, inplace)}; {@code inplace} changes nothing in eval mode and is kept for the repr.
     *
     * @param p       the probability of an element to be zeroed in training, in [0, 1]
     * @param inplace PyTorch's {@code inplace}, shown in the repr
     * @throws IllegalArgumentException if {@code p} is not in [0, 1]
     */
    public Dropout(double p, boolean inplace) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        }
        this.p = p;
        this.inplace = inplace;
    }

    /**
     * The probability of an element to be zeroed in training, PyTorch's {@code p}.
     *
     * @return p, in [0, 1]; 0.5 by default
     */
    public double p() {
        return p;
    }

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        if (isTraining() && p != 0) {
            throw new UnsupportedOperationException("Dropout(p=" + Repr.pyFloat(p) + ") in training mode zeroes random "
                    + "elements; onednn4j computes inference only: call eval() on the module (or on the network that "
                    + "holds it) first");
        }
        return FACE.of(FACE.impl(input).alias());
    }

    @Override
    public String extraRepr() {
        return "p=" + Repr.pyFloat(p) + ", inplace=" + Repr.pyBool(inplace);
    }
}
