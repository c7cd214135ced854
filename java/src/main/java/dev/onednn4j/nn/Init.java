package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Fills parameters in place, as PyTorch's {@code torch.nn.init} does ({@code uniform_}, {@code normal_},
 * {@code constant_}, {@code kaiming_normal_}), drawing from the caller's generator. The values follow PyTorch's
 * distributions, not its random stream: use a state dict to reproduce PyTorch's weights.
 */
public final class Init {
    private Init() {}

    /** Which fan {@link #kaimingNormal} scales by, as PyTorch's {@code mode}. */
    public enum FanMode {
        /** {@code size(1) * receptive field}: keeps the forward pass's variance. */
        FAN_IN,
        /** {@code size(0) * receptive field}: keeps the backward pass's variance. */
        FAN_OUT
    }

    /**
     * U(a, b) in every element: {@code nn.init.uniform_}.
     *
     * @param t   the tensor to fill, e.g. a layer's weight; writable
     * @param a   the lower bound
     * @param b   the upper bound
     * @param rng the generator the values are drawn from
     */
    public static void uniform(Tensor t, double a, double b, RandomGenerator rng) {
        Objects.requireNonNull(rng, "rng");
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (a + (b - a) * rng.nextDouble());
        }
        t.copyFrom(v);
    }

    /**
     * N(mean, std^2) in every element: {@code nn.init.normal_}.
     *
     * @param t    the tensor to fill, e.g. a layer's weight; writable
     * @param mean the mean of the distribution
     * @param std  its standard deviation
     * @param rng  the generator the values are drawn from
     */
    public static void normal(Tensor t, double mean, double std, RandomGenerator rng) {
        Objects.requireNonNull(rng, "rng");
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + std * rng.nextGaussian());
        }
        t.copyFrom(v);
    }

    /**
     * {@code value} in every element: {@code nn.init.constant_} (and {@code zeros_}, {@code ones_}).
     *
     * @param t     the tensor to fill, e.g. a BatchNorm's weight; writable
     * @param value the value, rounded to float
     */
    public static void constant(Tensor t, double value) {
        float[] v = new float[Math.toIntExact(t.numel())];
        Arrays.fill(v, (float) value);
        t.copyFrom(v);
    }

    /**
     * He initialisation for a ReLU network, {@code nn.init.kaiming_normal_(t, mode=..., nonlinearity="relu")}:
     * N(0, 2 / fan) with fan from a weight of shape (out, in, kH, kW) or (out, in).
     *
     * @param t    the weight to fill, of at least 2 dimensions; writable
     * @param mode which fan scales the variance: torchvision's ResNet and MobileNetV2 use {@link FanMode#FAN_OUT}
     * @param rng  the generator the values are drawn from
     * @throws IllegalArgumentException if {@code t} has fewer than 2 dimensions
     */
    public static void kaimingNormal(Tensor t, FanMode mode, RandomGenerator rng) {
        long[] s = t.shape();
        if (s.length < 2) {
            throw new IllegalArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 "
                    + "dimensions, got shape " + Arrays.toString(s));
        }
        long receptive = 1;
        for (int i = 2; i < s.length; i++) {
            receptive *= s[i];
        }
        long fan = (mode == FanMode.FAN_IN ? s[1] : s[0]) * receptive;
        normal(t, 0, Math.sqrt(2.0 / fan), rng);
    }

    /** A new tensor of U(-bound, bound): PyTorch's default for Conv2d and Linear with {@code bound = 1/sqrt(fan_in)}. */
    static Tensor uniform(RandomGenerator rng, float bound, long... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = bound * (2 * rng.nextFloat() - 1);
        }
        t.copyFrom(v);
        return t;
    }
}
