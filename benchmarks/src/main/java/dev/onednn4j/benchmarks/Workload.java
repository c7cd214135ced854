package dev.onednn4j.benchmarks;

import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Reference;
import dev.onednn4j.tensor.Tensor;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The data every implementation gets for one shape: seeded by the shape's name, so all see the same
 * input (standard normal), weights and bias (PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
 * {@link #check} is how each benchmark verifies its answer once, in {@code @Setup}.
 */
public final class Workload {
    private final Shape shape;
    private final float[] input;
    private final float[] weights;
    private final float[] bias;

    private Workload(Shape shape, float[] input, float[] weights, float[] bias) {
        this.shape = shape;
        this.input = input;
        this.weights = weights;
        this.bias = bias;
    }

    public Shape shape() {
        return shape;
    }

    /** The input, (N, C, H, W) row-major: the array itself, which callers only read. */
    public float[] input() {
        return input;
    }

    /** The weights, (OC, C / groups, k, k) row-major: the array itself, which callers only read. */
    public float[] weights() {
        return weights;
    }

    /** The bias, (OC): the array itself, which callers only read. */
    public float[] bias() {
        return bias;
    }

    /** Outputs compared with the reference per check: a random sample, plus the first and the last. */
    static final int SAMPLES = 300;

    public static Workload of(Shape s) {
        SplittableRandom r = new SplittableRandom(s.name().hashCode());
        float[] x = new float[Math.toIntExact((long) s.n() * s.c() * s.h() * s.w())];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        double bound = 1 / Math.sqrt((double) s.c() / s.groups() * s.kernel() * s.kernel());
        float[] w = new float[Math.toIntExact((long) s.outC() * (s.c() / s.groups()) * s.kernel() * s.kernel())];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextDouble(-bound, bound);
        }
        float[] b = new float[s.outC()];
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) r.nextDouble(-bound, bound);
        }
        return new Workload(s, x, w, b);
    }

    /**
     * Checks an implementation's output (N, outC, outH, outW), row-major, against the reference on a
     * sample of elements, each within the proven rounding bound; and that it is not mostly zeros.
     *
     * @throws IllegalStateException naming the implementation, shape and element on a wrong answer
     */
    public void check(String implementation, float[] out) {
        long[] shape = this.shape.outputShape();
        long expected = shape[0] * shape[1] * shape[2] * shape[3];
        if (out.length != expected) {
            throw new IllegalStateException(
                    implementation + " on " + this.shape + ": " + out.length + " outputs, expected " + expected);
        }
        int zeros = 0;
        for (float v : out) {
            zeros += v == 0 ? 1 : 0;
        }
        if (zeros > 0.3 * out.length) {
            throw new IllegalStateException(implementation + " on " + this.shape + ": " + zeros + " of " + out.length
                    + " outputs are zero: no evidence of a computation");
        }
        SplittableRandom r = new SplittableRandom(42);
        long[] sample = new long[SAMPLES + 2];
        for (int k = 0; k < sample.length; k++) {
            sample[k] = k == 0 ? 0 : k == 1 ? out.length - 1 : r.nextInt(out.length);
        }
        Reference.Element[] ref;
        try (Conv2d conv = this.shape.conv2d();
                Tensor x = Tensor.of(input, this.shape.inputShape())) {
            conv.weight().copyFrom(weights);
            conv.bias().copyFrom(bias);
            ref = Reference.at(conv, x, sample);
        }
        int plane = (int) (shape[2] * shape[3]);
        for (int k = 0; k < sample.length; k++) {
            int i = (int) sample[k];
            double err = Math.abs(out[i] - ref[k].value());
            if (!(err <= ref[k].bound())) {
                throw new IllegalStateException(String.format(
                        Locale.ROOT,
                        "%s on %s: output (n=%d, c=%d, h=%d, w=%d) is %s, the reference %s: error %.3g exceeds the "
                                + "proven bound %.3g",
                        implementation,
                        this.shape,
                        i / (int) (shape[1] * plane),
                        i / plane % (int) shape[1],
                        i % plane / (int) shape[3],
                        i % (int) shape[3],
                        out[i],
                        ref[k].value(),
                        err,
                        ref[k].bound()));
            }
        }
    }
}
