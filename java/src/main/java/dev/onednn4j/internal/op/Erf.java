package dev.onednn4j.internal.op;

/**
 * The error function in double, for the reference GELU (Java has none). For |x| < 6 it sums the series
 * {@code erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_k 2^k x^(2k+1) / (1*3*...*(2k+1))}, whose terms are all of one sign
 * (no cancellation), to double precision; beyond, erf is +-1 within 1e-17.
 */
final class Erf {
    private Erf() {}

    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a >= 6) {
            return Math.signum(x);
        }
        double term = a;
        double sum = a;
        for (int k = 1; k < 500 && term > sum * 1e-18; k++) {
            term *= 2 * a * a / (2 * k + 1);
            sum += term;
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum;
        return x < 0 ? -r : r;
    }
}
