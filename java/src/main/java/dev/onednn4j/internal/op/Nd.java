package dev.onednn4j.internal.op;

import java.util.Arrays;
import java.util.Locale;

/**
 * Shapes and index arithmetic for the plain Java loops of the ONNX operations: row-major strides, numpy
 * broadcasting, axis normalisation. Every check fails with the rule and the values.
 */
public final class Nd {
    private Nd() {}

    public static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a tensor of shape " + Arrays.toString(shape) + " has " + n
                    + " elements, more than onednn4j's plain loops index");
        }
        return (int) n;
    }

    /** Row-major strides, in elements. */
    public static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** {@code axis} in {@code [-rank, rank)} as a non-negative axis. */
    public static int axis(long axis, int rank, String op) {
        if (axis < -rank || axis >= Math.max(rank, 1)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s: Dimension out of range (expected to be in range of [%d, %d], but got %d)",
                    op,
                    -rank,
                    rank - 1,
                    axis));
        }
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** The shape two shapes broadcast to (numpy's rule, as ONNX's multidirectional broadcasting). */
    public static long[] broadcast(long[] a, long[] b, String op) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%s: The size of tensor a (%d) must match the size of tensor b (%d) at non-singleton "
                                + "dimension %d (shapes %s and %s)",
                        op,
                        x,
                        y,
                        i,
                        Arrays.toString(a),
                        Arrays.toString(b)));
            }
            out[i] = x == 1 ? y : x;
        }
        return out;
    }

    /** For each element of {@code out} (row-major), the element of a tensor of shape {@code in} broadcast to it. */
    public static int[] broadcastIndex(long[] in, long[] out) {
        int n = numel(out);
        int r = out.length;
        long[] inStrides = strides(in);
        long[] s = new long[r]; // in's stride for each output dimension, 0 where it broadcasts
        for (int i = 0; i < r; i++) {
            int j = i - (r - in.length);
            s[i] = j >= 0 && in[j] != 1 ? inStrides[j] : 0;
        }
        int[] idx = new int[n];
        long[] pos = new long[r];
        long at = 0;
        for (int k = 0; k < n; k++) {
            idx[k] = (int) at;
            for (int d = r - 1; d >= 0; d--) { // odometer over out's dimensions
                pos[d]++;
                at += s[d];
                if (pos[d] < out[d]) {
                    break;
                }
                at -= s[d] * pos[d];
                pos[d] = 0;
            }
        }
        return idx;
    }

    /** Copies the sub-block {@code [start, start + step * count)} of {@code src} (shape {@code shape}). */
    public static double[] slice(double[] src, long[] shape, long[] start, long[] step, long[] count) {
        int r = shape.length;
        long[] st = strides(shape);
        double[] out = new double[numel(count)];
        long[] pos = new long[r];
        long base = 0;
        for (int d = 0; d < r; d++) {
            base += start[d] * st[d];
        }
        long at = base;
        for (int k = 0; k < out.length; k++) {
            out[k] = src[(int) at];
            for (int d = r - 1; d >= 0; d--) {
                pos[d]++;
                at += step[d] * st[d];
                if (pos[d] < count[d]) {
                    break;
                }
                at -= step[d] * st[d] * pos[d];
                pos[d] = 0;
            }
        }
        return out;
    }

    /** {@code src} (shape {@code shape}) with its axes permuted: out dimension i is in dimension perm[i]. */
    public static double[] transpose(double[] src, long[] shape, int[] perm) {
        int r = shape.length;
        long[] st = strides(shape);
        long[] outShape = new long[r];
        long[] step = new long[r];
        for (int i = 0; i < r; i++) {
            outShape[i] = shape[perm[i]];
            step[i] = st[perm[i]];
        }
        double[] out = new double[src.length];
        long[] pos = new long[r];
        long at = 0;
        for (int k = 0; k < out.length; k++) {
            out[k] = src[(int) at];
            for (int d = r - 1; d >= 0; d--) {
                pos[d]++;
                at += step[d];
                if (pos[d] < outShape[d]) {
                    break;
                }
                at -= step[d] * pos[d];
                pos[d] = 0;
            }
        }
        return out;
    }

    public static long[] longs(double[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            l[i] = (long) v[i];
        }
        return l;
    }

    public static double[] doubles(long[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    public static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** The error function, to double precision: its Taylor series below 3, erfc's continued fraction above. */
    public static double erf(double x) {
        double a = Math.abs(x);
        if (Double.isNaN(x)) {
            return x;
        }
        double r;
        if (a < 3) {
            double term = a;
            double sum = a;
            double x2 = a * a;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else if (a > 27) {
            r = 1;
        } else {
            // erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + 2 / (a + ...)))))
            double f = a;
            for (int k = 120; k >= 1; k--) {
                f = a + (k / 2.0) / f;
            }
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
