package dev.onednn4j.spark;

import java.util.Arrays;
import java.util.Locale;

/**
 * A latency distribution, in milliseconds.
 *
 * @param p50 the median
 * @param p90 the 90th percentile
 * @param p99 the 99th percentile
 * @param max the largest
 */
public record Percentiles(double p50, double p90, double p99, double max) {

    /**
     * The percentiles of some values (nearest rank).
     *
     * @param values the values, in any order (not changed)
     * @return their percentiles; NaN for none
     */
    public static Percentiles of(double[] values) {
        if (values.length == 0) {
            return new Percentiles(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] v = values.clone();
        Arrays.sort(v);
        return new Percentiles(rank(v, 0.50), rank(v, 0.90), rank(v, 0.99), v[v.length - 1]);
    }

    private static double rank(double[] sorted, double q) {
        return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "p50 %.1f, p90 %.1f, p99 %.1f, max %.1f", p50, p90, p99, max);
    }
}
