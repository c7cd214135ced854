package dev.onednn4j.internal.reference;

import dev.onednn4j.internal.ConvGeometry;

/**
 * The proven bound on how far a float convolution may be from the exact result, whatever the order
 * of summation (Higham's gamma bound, as oneDNN's benchdnn uses it):
 * {@code |got - exact| <= gamma(n) * sum|w*x| + |b| * u}, with {@code u = 2^-24},
 * {@code n = C_in/groups * kH * kW + 1} and {@code gamma(n) = n*u / (1 - n*u)}.
 * A result outside it is a bug, never rounding noise.
 */
public final class RoundingBound {
    /** Unit roundoff of float32. */
    public static final double U = Math.scalb(1.0, -24);

    private final double gamma;

    public RoundingBound(ConvGeometry g) {
        int n = g.c() / g.groups() * g.kH() * g.kW() + 1;
        this.gamma = n * U / (1 - n * U);
    }

    public double gamma() {
        return gamma;
    }

    /**
     * @param magnitude sum of |weight * input| over the element's terms
     * @param bias      the element's bias (0 without)
     */
    public double of(double magnitude, double bias) {
        return gamma * magnitude + Math.abs(bias) * U;
    }
}
