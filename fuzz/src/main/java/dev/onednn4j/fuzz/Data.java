package dev.onednn4j.fuzz;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What fills an input: random floats of a scale, small integers (the exact tier: every partial sum of a
 * convolution or a linear layer over them is exact in float, so oneDNN must give the reference's bits), or floats
 * with NaN and infinities mixed in.
 *
 * @param kind  the family of values
 * @param scale floats are uniform in {@code [-scale, scale]}
 */
record Data(Kind kind, double scale) {

    /** The families of input values. */
    enum Kind {
        FLOATS,
        INTEGERS,
        NON_FINITE
    }

    static Data floats(double scale) {
        return new Data(Kind.FLOATS, scale);
    }

    static Data integers() {
        return new Data(Kind.INTEGERS, 8);
    }

    static Data nonFinite(double scale) {
        return new Data(Kind.NON_FINITE, scale);
    }

    /** {@code n} values drawn from {@code seed}. */
    float[] values(long n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = kind == Kind.INTEGERS ? r.nextInt(-8, 9) : (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        if (kind == Kind.INTEGERS && a.length > 0 && a[0] == 0) {
            a[0] = 1; // a non-zero first element, as benchdnn forces
        }
        if (kind == Kind.NON_FINITE && a.length > 0) {
            float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
            a[r.nextInt(a.length)] = specials[r.nextInt(3)]; // at least one
            for (int i = 0; i < a.length; i++) {
                if (r.nextDouble() < 0.06) {
                    a[i] = specials[r.nextInt(3)];
                }
            }
        }
        return a;
    }

    /** A random choice of data for a layer whose natural input scale is {@code scale}. */
    static Data random(Gen g, double scale) {
        double x = g.r.nextDouble();
        if (x < 0.6) {
            return floats(scale);
        }
        if (x < 0.85) {
            return integers();
        }
        return nonFinite(scale);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case FLOATS -> String.format(Locale.ROOT, "floats in [-%s, %s]", fmt(scale), fmt(scale));
            case INTEGERS -> "integers in [-8, 8]";
            case NON_FINITE ->
                String.format(Locale.ROOT, "floats in [-%s, %s] with NaN and infinities", fmt(scale), fmt(scale));
        };
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
