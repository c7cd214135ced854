package dev.onednn4j.fuzz;

import dev.onednn4j.OneDnnException;
import dev.onednn4j.internal.check.CrossCheck;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How the fuzzer judges a result or a refusal. Finite results go through the library's own {@link CrossCheck}
 * (bit for bit in the exact tier, else each element within the operation's stated bound); where the exact result is
 * NaN or infinite the result must be NaN too, or the same infinity. A refusal must be a Java exception of a
 * validation type whose message names the offending values ({@link Expected}).
 */
public final class Checks {
    private Checks() {}

    /**
     * A float result against the exact (double) one.
     *
     * @param what      names the case in the report
     * @param shape     the output's shape, to name failing elements
     * @param got       the result, in logical row-major order
     * @param exact     the exact result ({@code Operation.exact})
     * @param bound     the per-element bound ({@code Operation.bound}); unused in the exact tier
     * @param exactTier whether the arithmetic is exact in float (small integers), so the bits must agree
     * @return {@link Status#PASS}, or {@link Status#WRONG} with the worst elements
     */
    public static Verdict compare(
            String what, long[] shape, float[] got, double[] exact, double[] bound, boolean exactTier) {
        if (got.length != exact.length) {
            return Verdict.wrong(what + ": " + got.length + " elements, the reference has " + exact.length);
        }
        float[] g = got.clone();
        double[] e = exact.clone();
        double[] b = bound == null ? new double[exact.length] : bound.clone();
        List<String> nonFinite = new ArrayList<>();
        int nonFiniteBad = 0;
        for (int i = 0; i < e.length; i++) {
            if (Double.isFinite(e[i])) {
                continue;
            }
            boolean ok = Double.isNaN(e[i]) ? Float.isNaN(g[i]) : g[i] == e[i];
            if (!ok) {
                nonFiniteBad++;
                if (nonFinite.size() < 5) {
                    nonFinite.add(index(shape, i) + ": got " + g[i] + ", reference " + e[i]);
                }
            }
            g[i] = 0; // judged here: out of CrossCheck's arithmetic
            e[i] = 0;
            b[i] = 0;
        }
        CrossCheck.Result r =
                exactTier ? CrossCheck.exact(what, shape, g, e) : CrossCheck.withinBound(what, shape, g, e, b);
        boolean weak = r.zeroFraction() > 0.3;
        if (r.violations() == 0 && nonFiniteBad == 0) {
            return new Verdict(Status.PASS, r.report(), false, weak);
        }
        StringBuilder s = new StringBuilder(r.report());
        if (nonFiniteBad > 0) {
            s.append(String.format(
                    Locale.ROOT,
                    "%n%d element(s) where the reference is NaN or infinite disagree:%n  %s",
                    nonFiniteBad,
                    String.join("\n  ", nonFinite)));
        }
        return new Verdict(Status.WRONG, s.toString(), false, weak);
    }

    /**
     * The reference backend's output: the exact result rounded once to float (NaN where it is NaN).
     *
     * @param shape the output's shape, to name failing elements
     * @param got   what the layer computed on {@code Backend.REFERENCE}
     * @param exact the exact result
     * @return null if they agree, else what differs
     */
    public static String roundedOnce(long[] shape, float[] got, double[] exact) {
        if (got.length != exact.length) {
            return got.length + " elements, the exact result has " + exact.length;
        }
        for (int i = 0; i < got.length; i++) {
            float want = (float) exact[i];
            boolean same = Float.isNaN(want)
                    ? Float.isNaN(got[i])
                    : Float.floatToRawIntBits(want) == Float.floatToRawIntBits(got[i]);
            if (!same) {
                return "the reference backend gives " + got[i] + " at " + index(shape, i) + ", the exact result "
                        + exact[i] + " rounds to " + want;
            }
        }
        return null;
    }

    /**
     * An invalid case's outcome: what {@code action} threw (null if nothing).
     *
     * @param thrown   what the layer threw, or null if it accepted the configuration
     * @param expected what the message must name
     * @return {@link Status#PASS} for a validation exception naming the values; {@link Status#UNCLEAR} for a
     *     message that does not, or an exception of another type; {@link Status#WRONG} for no exception, an
     *     {@link Error}, or an error from oneDNN itself (the check should have come before any native call)
     */
    public static Verdict refusal(Throwable thrown, Expected expected) {
        if (thrown == null) {
            return Verdict.wrong("accepted: no exception for an invalid configuration");
        }
        String head = thrown.getClass().getName() + ": " + thrown.getMessage();
        if (thrown instanceof Error) {
            return Verdict.wrong("threw an Error, not an exception: " + stackTrace(thrown));
        }
        if (thrown instanceof OneDnnException) {
            return Verdict.wrong("refused by oneDNN, not by a check before the native call: " + head);
        }
        if (!validationType(thrown)) {
            return new Verdict(
                    Status.UNCLEAR,
                    "threw " + thrown.getClass().getName() + ", not a validation exception: " + stackTrace(thrown),
                    false,
                    false);
        }
        List<String> missing = expected.missingFrom(thrown.getMessage());
        if (!missing.isEmpty()) {
            return new Verdict(
                    Status.UNCLEAR,
                    "the message does not name " + String.join(", ", missing) + ": " + head,
                    false,
                    false);
        }
        return Verdict.pass(head);
    }

    /** The exception types a check throws: argument, state, unsupported operation, index (not an array's). */
    private static boolean validationType(Throwable t) {
        Class<?> c = t.getClass();
        return t instanceof IllegalArgumentException
                || t instanceof IllegalStateException
                || t instanceof UnsupportedOperationException
                || c == IndexOutOfBoundsException.class;
    }

    /** The full stack trace, for a report. */
    public static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString().strip();
    }

    /** The multi-index of row-major position {@code i} in {@code shape}, e.g. {@code [0, 3, 1, 2]}. */
    static String index(long[] shape, long i) {
        long[] idx = new long[shape.length];
        long rest = i;
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : rest % shape[d];
            rest = shape[d] == 0 ? rest : rest / shape[d];
        }
        return Arrays.toString(idx);
    }
}
