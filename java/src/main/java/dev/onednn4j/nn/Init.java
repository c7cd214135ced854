package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;
import java.util.random.RandomGenerator;

/** Initial values of parameters, as PyTorch's {@code nn.init} draws them (from the caller's generator). */
final class Init {
    private Init() {
    }

    /** U(-bound, bound): PyTorch's default for Conv2d and Linear with {@code bound = 1/sqrt(fan_in)}. */
    static Tensor uniform(RandomGenerator rng, float bound, long... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = bound * (2 * rng.nextFloat() - 1);
        }
        t.copyFrom(v);
        return t;
    }

    /** N(0, std^2), as {@code nn.init.normal_} and, with {@code std = sqrt(2 / fan)}, {@code kaiming_normal_}. */
    static void normal(Tensor t, RandomGenerator rng, double std) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (std * rng.nextGaussian());
        }
        t.copyFrom(v);
    }

    /** Every element {@code value}, as {@code nn.init.constant_}. */
    static void constant(Tensor t, float value) {
        float[] v = new float[Math.toIntExact(t.numel())];
        java.util.Arrays.fill(v, value);
        t.copyFrom(v);
    }
}
