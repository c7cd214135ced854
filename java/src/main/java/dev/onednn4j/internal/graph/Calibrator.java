package dev.onednn4j.internal.graph;

import java.util.Arrays;

/**
 * What static int8 quantization needs to know of each value a compiled graph quantizes: its range over the
 * calibration samples, and from it the threshold {@code t} that real values are clipped to, so that a value is stored
 * as {@code round(x / s)} with {@code s = t / 127} (s8) or {@code t / 255} (u8, for values never negative).
 *
 * <p>Three ways to choose {@code t} from the observed magnitudes {@code |x|}:
 *
 * <ul>
 *   <li>{@link Method#MINMAX}: the largest magnitude seen: nothing is clipped, the step is the widest.
 *   <li>{@link Method#PERCENTILE}: the magnitude below which {@value #PERCENTILE} % of the values fall: a few
 *       outliers are clipped so the others get a finer step.
 *   <li>{@link Method#ENTROPY}: the threshold whose quantized histogram loses least information against the observed
 *       one (the Kullback-Leibler divergence of the two distributions, over {@value #BINS} bins of {@code |x|}), as
 *       TensorRT's entropy calibrator chooses it.
 * </ul>
 *
 * Each observer sees the samples twice: a first pass finds the largest magnitude, a second fills the histogram over
 * {@code [0, max]} (MINMAX needs only the first). Exact zeros stay out of the histogram: they quantize exactly at any
 * threshold, and after a ReLU they are most of the values, which would pull both methods toward tiny thresholds.
 */
public final class Calibrator {
    /** How thresholds are chosen. */
    public enum Method {
        MINMAX,
        PERCENTILE,
        ENTROPY
    }

    /** Histogram bins over {@code [0, max|x|]}. */
    static final int BINS = 2048;
    /** The quantization levels {@link Method#ENTROPY} compares distributions at. */
    static final int LEVELS = 128;

    /** The share of magnitudes, in percent, that {@link Method#PERCENTILE} keeps unclipped. */
    static final double PERCENTILE = 99.99;

    private Calibrator() {}

    /** The observations of one value. */
    public static final class Observer {
        private double min = Double.POSITIVE_INFINITY;
        private double max = Double.NEGATIVE_INFINITY;
        private long count;
        private long[] histogram;

        /** First pass: the value's range. */
        public void observeRange(float[] values) {
            double lo = min;
            double hi = max;
            for (float v : values) {
                if (Float.isNaN(v)) {
                    throw new IllegalArgumentException(
                            "calibration met a NaN: a sample, or a layer computing from it, is not finite");
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            min = lo;
            max = hi;
            count += values.length;
        }

        /** Second pass: the histogram of magnitudes over {@code [0, max|x|]}, once the range is known. */
        public void observeHistogram(float[] values) {
            if (histogram == null) {
                histogram = new long[BINS];
            }
            double top = magnitude();
            if (top == 0 || Double.isInfinite(top)) {
                return;
            }
            double perBin = BINS / top;
            for (float v : values) {
                if (v == 0) {
                    continue; // exact zeros (most of a ReLU's output) quantize exactly, whatever the threshold
                }
                int bin = (int) (Math.abs(v) * perBin);
                histogram[Math.min(bin, BINS - 1)]++;
            }
        }

        /** The smallest value seen. */
        public double min() {
            return min;
        }

        /** The largest value seen. */
        public double max() {
            return max;
        }

        /** The largest magnitude seen. */
        double magnitude() {
            return Math.max(Math.abs(min), Math.abs(max));
        }

        /** Whether anything was observed. */
        public boolean observed() {
            return count > 0;
        }

        /**
         * The threshold {@code method} chooses: a positive magnitude (1 when every value seen was zero).
         *
         * @throws IllegalStateException if the method needs the histogram and the second pass did not run
         */
        public double threshold(Method method) {
            double top = magnitude();
            if (Double.isInfinite(top)) {
                throw new IllegalArgumentException(
                        "calibration met an infinite value: a sample, or a layer computing from it, overflows float32");
            }
            if (top == 0) {
                return 1;
            }
            if (method == Method.MINMAX) {
                return top;
            }
            if (histogram == null) {
                throw new IllegalStateException(method + " needs the second calibration pass");
            }
            // 128 levels of |x| for u8 and s8 alike, as TensorRT's calibrator compares them: with 256 over 2048 bins,
            // only thresholds at multiples of 256 bins merge evenly, and those win for that reason alone
            int bins = method == Method.PERCENTILE ? percentileBins(histogram) : entropyBins(histogram, LEVELS);
            return Math.min(top, bins * top / BINS);
        }
    }

    /** The number of bins from zero that hold {@link #PERCENTILE} % of the counts. */
    static int percentileBins(long[] histogram) {
        long total = Arrays.stream(histogram).sum();
        if (total == 0) {
            return histogram.length;
        }
        double want = total * PERCENTILE / 100;
        long sum = 0;
        for (int i = 0; i < histogram.length; i++) {
            sum += histogram[i];
            if (sum >= want) {
                return i + 1;
            }
        }
        return histogram.length;
    }

    /**
     * The number of bins from zero whose clipped, {@code levels}-level quantized distribution is closest to the
     * observed one in Kullback-Leibler divergence. For each candidate {@code i >= levels}: the reference P is the
     * first {@code i} bins with every count beyond added to the last; Q merges those bins into {@code levels} groups
     * and spreads each group's count evenly over its non-empty bins; the divergence is {@code sum P log(P/Q)}.
     */
    static int entropyBins(long[] histogram, int levels) {
        int n = histogram.length;
        if (n <= levels || Arrays.stream(histogram).sum() == 0) {
            return n;
        }
        long[] tail = new long[n + 1]; // tail[i]: counts in bins i and beyond
        for (int i = n - 1; i >= 0; i--) {
            tail[i] = tail[i + 1] + histogram[i];
        }
        double bestDivergence = Double.POSITIVE_INFINITY;
        int best = n;
        double[] p = new double[n];
        double[] q = new double[n];
        for (int i = levels; i <= n; i++) {
            // P: the first i bins, the outliers folded into the last one
            for (int k = 0; k < i; k++) {
                p[k] = histogram[k];
            }
            p[i - 1] += tail[i];
            // Q: i bins merged into `levels` groups, each group's count spread over its non-empty bins
            double perLevel = (double) i / levels;
            for (int level = 0; level < levels; level++) {
                int start = (int) Math.floor(level * perLevel);
                int end = level == levels - 1 ? i : (int) Math.floor((level + 1) * perLevel);
                double sum = 0;
                int nonEmpty = 0;
                for (int k = start; k < end; k++) {
                    sum += histogram[k];
                    nonEmpty += histogram[k] != 0 ? 1 : 0;
                }
                for (int k = start; k < end; k++) {
                    q[k] = histogram[k] == 0 || nonEmpty == 0 ? 0 : sum / nonEmpty;
                }
            }
            double divergence = divergence(p, q, i);
            if (divergence < bestDivergence) {
                bestDivergence = divergence;
                best = i;
            }
        }
        return best;
    }

    /** {@code KL(P || Q)} over the first {@code n} bins, each normalized; bins where P is 0 add nothing. */
    private static double divergence(double[] p, double[] q, int n) {
        double sp = 0;
        double sq = 0;
        for (int k = 0; k < n; k++) {
            sp += p[k];
            sq += q[k];
        }
        if (sp == 0 || sq == 0) {
            return Double.POSITIVE_INFINITY;
        }
        double d = 0;
        for (int k = 0; k < n; k++) {
            if (p[k] == 0) {
                continue;
            }
            double pk = p[k] / sp;
            // a bin P has and Q lacks (the folded outliers beyond the last non-empty one): smoothed, as TensorRT does
            double qk = q[k] == 0 ? 1e-4 / sq : q[k] / sq;
            d += pk * Math.log(pk / qk);
        }
        return d;
    }
}
