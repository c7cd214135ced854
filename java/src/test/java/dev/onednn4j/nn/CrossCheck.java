package dev.onednn4j.nn;

import dev.onednn4j.internal.ConvGeometry;
import dev.onednn4j.internal.reference.ReferenceConvolution;
import dev.onednn4j.internal.reference.RoundingBound;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Compares a convolution's float output with the reference, computed in double, the way oneDNN's own
 * benchdnn does: bit for bit in the exact tier, within a proven rounding bound in the realistic tier.
 *
 * <p>The bound ({@link RoundingBound}): summing n terms in float, in any order, errs by at most
 * {@code gamma(n) * sum|w*x|} with {@code gamma(n) = n*u / (1 - n*u)}, {@code u = 2^-24} and
 * {@code n = C_in/groups * kH * kW + 1}; the bias adds {@code |b| * u}. It holds for every summation
 * order, so exceeding it is a bug, never noise.
 */
final class CrossCheck {

    private CrossCheck() {
    }

    static ConvGeometry geometry(int n, int c, int h, int w, int outC, int kH, int kW, int sH, int sW, int pH, int pW,
                                 int dH, int dW, int groups, PaddingMode mode, boolean bias) {
        return new ConvGeometry(n, c, h, w, outC, kH, kW, sH, sW, pH, pH, pW, pW, dH, dW, groups, mode, bias);
    }

    /**
     * @param violations elements outside the bound (or, exact, not identical)
     * @param zeroFraction share of exactly-zero elements in the reference output
     */
    record Result(String what, int violations, double maxAbsError, double maxRelError, double zeroFraction,
                  List<String> worst) {
        String report() {
            return String.format(Locale.ROOT, "%s: %d element(s) out of bound, max abs error %.3g, max rel error %.3g,"
                    + " zeros %.0f%%; worst:%n  %s", what, violations, maxAbsError, maxRelError, 100 * zeroFraction,
                    String.join("\n  ", worst));
        }
    }

    /** Realistic tier: each element within the proven bound of the double-precision reference. */
    static Result againstReference(ConvGeometry g, float[] x, float[] w, float[] b, float[] got) {
        return compare(g, x, w, b, got, false);
    }

    /** Exact tier: integer data whose sums stay exact in float; every element must be identical. */
    static Result exact(ConvGeometry g, float[] x, float[] w, float[] b, float[] got) {
        return compare(g, x, w, b, got, true);
    }

    private static Result compare(ConvGeometry g, float[] x, float[] w, float[] b, float[] got, boolean exact) {
        double[] abs = new double[got.length];
        double[] ref = ReferenceConvolution.compute(g, x, w, b, abs);
        if (ref.length != got.length) {
            throw new AssertionError("output has " + got.length + " elements, reference " + ref.length + " for " + g);
        }
        RoundingBound rounding = new RoundingBound(g);
        int outC = g.outC();
        int oh = g.outH();
        int ow = g.outW();
        int violations = 0;
        int zeros = 0;
        double maxAbs = 0;
        double maxRel = 0;
        double[] excess = new double[got.length];
        double[] bounds = new double[got.length];
        for (int i = 0; i < got.length; i++) {
            if (ref[i] == 0) {
                zeros++;
            }
            double err = Math.abs(got[i] - ref[i]);
            double bias = b == null ? 0 : b[(i / (oh * ow)) % outC];
            double bound = exact ? 0 : rounding.of(abs[i], bias);
            bounds[i] = bound;
            boolean bad = exact ? Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits((float) ref[i])
                    : !(err <= bound);
            excess[i] = bad ? (Double.isNaN(err) ? Double.POSITIVE_INFINITY : err - bound) + 1 : 0;
            if (bad) {
                violations++;
            }
            if (!Double.isNaN(err)) {
                maxAbs = Math.max(maxAbs, err);
                if (ref[i] != 0) {
                    maxRel = Math.max(maxRel, err / Math.abs(ref[i]));
                }
            } else {
                maxAbs = Double.NaN;
            }
        }
        List<String> worst = new ArrayList<>();
        IntStream.range(0, got.length).boxed().filter(i -> excess[i] > 0)
                .sorted(Comparator.comparingDouble((Integer i) -> -excess[i])).limit(5).forEach(i -> {
                    int ww = i % ow, hh = (i / ow) % oh, cc = (i / (ow * oh)) % outC, nn = i / (ow * oh * outC);
                    worst.add(String.format(Locale.ROOT, "(n=%d, c=%d, h=%d, w=%d): got %s, reference %s, error %.3g, "
                            + "bound %.3g", nn, cc, hh, ww, got[i], ref[i], Math.abs(got[i] - ref[i]), bounds[i]));
                });
        return new Result((exact ? "exact tier, " : "bound tier, ") + g, violations, maxAbs, maxRel,
                got.length == 0 ? 0 : (double) zeros / got.length, worst);
    }
}
