package dev.onednn4j.fuzz;

import java.util.List;
import java.util.SplittableRandom;

/** The random choices of one case, from its own generator (see {@link Generator#caseSeed}). */
final class Gen {
    final SplittableRandom r;

    Gen(long seed) {
        this.r = new SplittableRandom(seed);
    }

    boolean chance(double p) {
        return r.nextDouble() < p;
    }

    /** Uniform in {@code [lo, hi]}. */
    int between(int lo, int hi) {
        return r.nextInt(lo, hi + 1);
    }

    <T> T pick(List<T> items) {
        return items.get(r.nextInt(items.size()));
    }

    /** One of {@code values}, with the matching {@code weights}. */
    int weighted(int[] values, double[] weights) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double x = r.nextDouble() * total;
        for (int i = 0; i < values.length; i++) {
            x -= weights[i];
            if (x < 0) {
                return values[i];
            }
        }
        return values[values.length - 1];
    }

    /**
     * A spatial size, weighted heavily towards the small sizes where windows fall into the padding: 1 to 3 about
     * half the time, up to 8 most of the time, now and then up to 40.
     */
    int spatial() {
        double x = r.nextDouble();
        if (x < 0.45) {
            return between(1, 3);
        }
        if (x < 0.75) {
            return between(4, 8);
        }
        if (x < 0.95) {
            return between(9, 16);
        }
        return between(17, 40);
    }

    /** A batch: 1 mostly, 2 or 3 sometimes, 0 (an empty batch) now and then. */
    int batch() {
        return weighted(new int[] {0, 1, 2, 3}, new double[] {0.08, 0.5, 0.27, 0.15});
    }

    /** A kernel extent: 1 to 5, mostly 1 to 3, now and then 7. */
    int kernel() {
        return weighted(new int[] {1, 2, 3, 4, 5, 7}, new double[] {3, 3, 4, 1.2, 1, 0.4});
    }

    long nextLong() {
        return r.nextLong();
    }
}
