package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;

/**
 * {@code x > 0 ? x : negativeSlope * x} element by element, as PyTorch's {@code nn.LeakyReLU}, on oneDNN's
 * eltwise primitive. Any shape and layout; the output keeps the input's.
 */
public final class LeakyReLU extends Activation {
    private final float negativeSlope;

    /** {@code nn.LeakyReLU()}: slope 0.01. */
    public LeakyReLU() {
        this(0.01, false);
    }

    /**
     * {@code nn.LeakyReLU(negative_slope)}.
     *
     * @param negativeSlope the factor applied to negative inputs; finite, used as a float
     * @throws IllegalArgumentException if {@code negativeSlope} is not finite
     */
    public LeakyReLU(double negativeSlope) {
        this(negativeSlope, false);
    }

    /**
     * {@code nn.LeakyReLU(negative_slope, inplace)}.
     *
     * @param negativeSlope the factor applied to negative inputs; finite, used as a float
     * @param inplace       whether {@code forward} writes the result into its input (which must then be writable)
     * @throws IllegalArgumentException if {@code negativeSlope} is not finite
     */
    public LeakyReLU(double negativeSlope, boolean inplace) {
        super(Eltwise.Kind.LEAKY_RELU, (float) negativeSlope, inplace);
        if (!Double.isFinite(negativeSlope)) {
            throw new IllegalArgumentException("negative_slope must be finite, got " + negativeSlope);
        }
        this.negativeSlope = (float) negativeSlope;
    }

    /**
     * The slope for negative inputs, as a float (PyTorch computes in the input's dtype).
     *
     * @return the slope; 0.01 by default
     */
    public float negativeSlope() {
        return negativeSlope;
    }

    @Override
    public String extraRepr() {
        String slope = "negative_slope=" + Repr.pyFloat(Double.parseDouble(Float.toString(negativeSlope)));
        return inplace() ? slope + ", inplace=True" : slope;
    }
}
