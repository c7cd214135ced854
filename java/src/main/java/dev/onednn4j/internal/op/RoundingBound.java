package dev.onednn4j.internal.op;

/**
 * The proven bound on how far a float32 sum may be from the exact result, whatever the order of summation
 * (Higham's gamma bound, as oneDNN's benchdnn uses it): summing {@code n} terms {@code t_i} in float errs by at
 * most {@code gamma(n) * sum|t_i|}, with {@code u = 2^-24} and {@code gamma(n) = n*u / (1 - n*u)}. For a
 * convolution the terms are the products {@code w*x} and the bias: {@code n = C_in/groups * kH * kW + 1} and the
 * bound is {@code gamma(n) * (sum|w*x| + |b|)}. The bias sits inside the gamma factor because a kernel may add it
 * first (oneDNN's depthwise kernels do). A result outside the bound is a bug, never rounding noise.
 */
public final class RoundingBound {
    /** Unit roundoff of float32. */
    public static final double U = Math.scalb(1.0, -24);

    private RoundingBound() {}

    /** {@code gamma(n) = n*u / (1 - n*u)}. */
    public static double gamma(long n) {
        double nu = n * U;
        if (nu >= 1) {
            throw new IllegalArgumentException("gamma(" + n + ") is undefined: n*u >= 1");
        }
        return nu / (1 - nu);
    }

    /**
     * The bound for one result summing {@code terms} terms whose magnitudes add up to {@code magnitude} (the
     * bias included).
     */
    public static double of(long terms, double magnitude) {
        return gamma(terms) * magnitude;
    }
}
