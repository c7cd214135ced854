package dev.onednn4j.internal.check;

import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.RoundingBound;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Compares a float result with a double-precision reference the way oneDNN's own benchdnn does: bit for bit in the
 * exact tier (small integers whose sums stay exact in float), within a proven per-element bound in the realistic
 * tier ({@link RoundingBound}). The one place tests, the demo and the benchmarks check a result. It also guards
 * against checks that pass trivially: the share of zeros in the reference is reported (benchdnn distrusts a result
 * that is more than 30% zeros), and failures name the worst elements by their index in the output's shape.
 */
public final class CrossCheck {
    private CrossCheck() {}

    /**
     * The outcome of one comparison, with what a failure report needs.
     *
     * @param violations   elements outside their bound (exact tier: not bit-identical)
     * @param worstShare   the largest {@code |error| / bound} (exact tier: 0 or infinity)
     * @param zeroFraction share of exactly-zero elements in the reference
     */
    public record Result(
            String what,
            int elements,
            int violations,
            double maxAbsError,
            double maxRelError,
            double worstShare,
            double zeroFraction,
            List<String> worst) {

        /** No violation, and a result that is not mostly zeros. */
        public boolean passed() {
            return violations == 0 && zeroFraction <= 0.3;
        }

        public String report() {
            return String.format(
                    Locale.ROOT,
                    "%s: %d of %d element(s) out of bound, max abs error %.3g, max rel error "
                            + "%.3g, worst element at %.1f%% of its bound, zeros %.0f%%%s",
                    what,
                    violations,
                    elements,
                    maxAbsError,
                    maxRelError,
                    100 * worstShare,
                    100 * zeroFraction,
                    worst.isEmpty() ? "" : "; worst:\n  " + String.join("\n  ", worst));
        }
    }

    /**
     * Each {@code got[i]} within {@code bound[i]} of {@code ref[i]}.
     *
     * @param shape the output's shape, to name failing elements by index
     */
    public static Result withinBound(String what, long[] shape, float[] got, double[] ref, double[] bound) {
        return compare(what, shape, got, ref, bound);
    }

    /** Each {@code got[i]} bit-identical to {@code ref[i]} rounded to float. */
    public static Result exact(String what, long[] shape, float[] got, double[] ref) {
        return compare(what, shape, got, ref, null);
    }

    /**
     * Any operation's float output for {@code x} against its {@link Operation#exact} result, each element within
     * its {@link Operation#bound}.
     */
    public static Result operation(String what, Operation op, float[] x, float[] got) {
        return withinBound(what, op.outputShape(), got, op.exact(x), op.bound(x));
    }

    /**
     * A convolution's output against the reference loop: exactly, or each element within {@code factor} times its
     * rounding bound ({@code factor} 1 against the exact value, 2 against another float result that is itself
     * within the bound, such as PyTorch's).
     */
    public static Result convolution(
            ConvGeometry g, float[] x, float[] w, float[] b, float[] got, boolean exact, double factor) {
        double[] magnitude = new double[got.length];
        double[] ref = Convolution.compute(g, x, w, b, magnitude);
        String what = (exact ? "exact tier, " : "bound tier, ") + g;
        if (exact) {
            return exact(what, g.outputShape(), got, ref);
        }
        return withinBound(what, g.outputShape(), got, ref, convolutionBounds(g, magnitude, factor));
    }

    /**
     * A convolution's output against another result for the same data, e.g. PyTorch's: each element within
     * {@code factor} times its rounding bound (2 when both are float results within the bound of the exact value).
     */
    public static Result convolution(
            String what,
            ConvGeometry g,
            float[] x,
            float[] w,
            float[] b,
            float[] got,
            float[] expected,
            double factor) {
        double[] magnitude = new double[got.length];
        Convolution.compute(g, x, w, b, magnitude);
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        return withinBound(what, g.outputShape(), got, e, convolutionBounds(g, magnitude, factor));
    }

    /** {@code factor * gamma(n) * magnitude}, {@code n = C_in/groups * kH * kW + 1}. */
    private static double[] convolutionBounds(ConvGeometry g, double[] magnitude, double factor) {
        double gamma = RoundingBound.gamma((long) g.c() / g.groups() * g.kH() * g.kW() + 1);
        double[] bound = new double[magnitude.length];
        for (int i = 0; i < bound.length; i++) {
            bound[i] = factor * gamma * magnitude[i];
        }
        return bound;
    }

    private static Result compare(String what, long[] shape, float[] got, double[] ref, double[] bound) {
        if (ref.length != got.length) {
            throw new AssertionError(what + ": " + got.length + " elements, the reference has " + ref.length);
        }
        boolean exact = bound == null;
        int violations = 0;
        int zeros = 0;
        double maxAbs = 0;
        double maxRel = 0;
        double worstShare = 0;
        double[] excess = new double[got.length];
        for (int i = 0; i < got.length; i++) {
            if (ref[i] == 0) {
                zeros++;
            }
            double limit = exact ? 0 : bound[i];
            if (!Double.isFinite(ref[i]) || !(Math.abs(ref[i]) + limit <= Float.MAX_VALUE)) {
                // NaN must be NaN, an infinity the same infinity; a finite result that may round past the float
                // range may be the infinity of its sign
                boolean same = Double.isNaN(ref[i])
                        ? Float.isNaN(got[i])
                        : got[i] == ref[i]
                                || got[i] == Math.copySign(Double.POSITIVE_INFINITY, ref[i])
                                || (Double.isFinite(ref[i]) && Math.abs(got[i] - ref[i]) <= limit);
                if (!same) {
                    violations++;
                    excess[i] = Double.POSITIVE_INFINITY;
                    maxAbs = Double.NaN;
                    worstShare = Double.POSITIVE_INFINITY;
                }
                continue;
            }
            double err = Math.abs(got[i] - ref[i]);
            boolean bad = exact
                    ? Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits((float) ref[i])
                    : !(err <= limit);
            if (bad) {
                violations++;
                excess[i] = (Double.isNaN(err) ? Double.POSITIVE_INFINITY : err - limit) + 1;
            }
            if (Double.isNaN(err)) {
                maxAbs = Double.NaN;
                worstShare = Double.POSITIVE_INFINITY;
            } else {
                maxAbs = Math.max(maxAbs, err);
                if (ref[i] != 0) {
                    maxRel = Math.max(maxRel, err / Math.abs(ref[i]));
                }
                worstShare =
                        Math.max(worstShare, exact ? (bad ? Double.POSITIVE_INFINITY : 0) : err == 0 ? 0 : err / limit);
            }
        }
        List<String> worst = new ArrayList<>();
        IntStream.range(0, got.length)
                .boxed()
                .filter(i -> excess[i] > 0)
                .sorted(Comparator.comparingDouble((Integer i) -> -excess[i]))
                .limit(5)
                .forEach(i -> worst.add(String.format(
                        Locale.ROOT,
                        "%s: got %s, reference %s, error %.3g, bound %.3g",
                        index(shape, i),
                        got[i],
                        ref[i],
                        Math.abs(got[i] - ref[i]),
                        exact ? 0 : bound[i])));
        return new Result(
                what,
                got.length,
                violations,
                maxAbs,
                maxRel,
                worstShare,
                got.length == 0 ? 0 : (double) zeros / got.length,
                worst);
    }

    /** The multi-index of row-major position {@code i} in {@code shape}, e.g. {@code [n=0, c=3, h=1, w=2]}. */
    static String index(long[] shape, long i) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : i % shape[d];
            i = shape[d] == 0 ? i : i / shape[d];
        }
        if (shape.length == 4) {
            return String.format(Locale.ROOT, "(n=%d, c=%d, h=%d, w=%d)", idx[0], idx[1], idx[2], idx[3]);
        }
        return Arrays.toString(idx);
    }
}
