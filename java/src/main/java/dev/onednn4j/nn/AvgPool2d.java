package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.PoolParams;
import dev.onednn4j.internal.op.Pooling;

/**
 * 2-D average pooling, as PyTorch's {@code nn.AvgPool2d}: each output is the mean of its window.
 *
 * <pre>{@code
 * try (AvgPool2d pool = AvgPool2d.builder(3).stride(2).padding(1).countIncludePad(false).build()) {
 *     Tensor y = pool.forward(x);
 * }
 * }</pre>
 *
 * <h2>Arguments</h2> (see {@link Builder}) kernelSize (int or (kH, kW)); stride (default: the kernel size);
 * padding (default 0, zeros, at most half the kernel); ceilMode (default false); countIncludePad (default true:
 * the padding's zeros count in the divisor); divisorOverride (default none: every window divided by it).
 *
 * <h2>Shape</h2> As {@link MaxPool2d} (without dilation). PyTorch's divisor with {@code countIncludePad} is the
 * window clipped to the padded input: in ceil mode a last window reaching past the padding divides by fewer cells.
 *
 * <p>On oneDNN's pooling primitive; where PyTorch's divisor differs from oneDNN's (ceil mode with
 * countIncludePad, divisorOverride) a fused binary post-op rescales the affected outputs. Within
 * {@code gamma(kH * kW + 3) * sum|x| / divisor} of the exact mean.
 */
public final class AvgPool2d extends OperationModule {
    private final PoolParams params;
    private final Builder given;

    private AvgPool2d(Builder b) {
        this.given = b;
        this.params = new PoolParams(
                false,
                b.kH,
                b.kW,
                b.strideH(),
                b.strideW(),
                b.padH,
                b.padW,
                1,
                1,
                b.ceilMode,
                b.countIncludePad,
                b.divisorOverride);
    }

    /**
     * A builder with a square kernel.
     *
     * @param kernelSize the window's height and width, PyTorch's {@code kernel_size}
     * @return a builder with PyTorch's defaults for everything else; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int kernelSize) {
        return new Builder(kernelSize, kernelSize, false);
    }

    /**
     * A builder with a kH x kW kernel.
     *
     * @param kernelHeight kH, the window's rows
     * @param kernelWidth  kW, the window's columns
     * @return a builder with PyTorch's defaults for everything else; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int kernelHeight, int kernelWidth) {
        return new Builder(kernelHeight, kernelWidth, true);
    }

    @Override
    Operation resolve(long[] shape) {
        return new Pooling(Pool.resolve(params, shape, "avg_pool2d"), shape.length == 3);
    }

    @Override
    public String extraRepr() {
        return given.repr();
    }

    /** Arguments of an {@link AvgPool2d}, named and defaulted as PyTorch's. {@link #build()} checks them. */
    public static final class Builder extends Pool.Args<Builder> {
        private boolean countIncludePad = true;
        private int divisorOverride;

        private Builder(int kH, int kW, boolean pair) {
            super(kH, kW, pair);
        }

        @Override
        Builder self() {
            return this;
        }

        /**
         * Whether the padding's zeros count in the divisor (default true).
         *
         * @param countIncludePad false to divide each window by the cells it covers of the input only
         * @return this builder
         */
        public Builder countIncludePad(boolean countIncludePad) {
            this.countIncludePad = countIncludePad;
            return this;
        }

        /**
         * Every window's divisor, instead of its size (PyTorch's {@code divisor_override}).
         *
         * @param divisor what every window's sum is divided by; positive ({@link #build()} refuses a negative one)
         * @return this builder
         * @throws IllegalArgumentException if {@code divisor} is 0
         */
        public Builder divisorOverride(int divisor) {
            if (divisor == 0) {
                throw new IllegalArgumentException("divisor must be not zero");
            }
            this.divisorOverride = divisor;
            return this;
        }

        /**
         * Checks every argument and builds the layer.
         *
         * @return a new layer, owned by the caller (close it)
         * @throws IllegalArgumentException if an argument breaks PyTorch's rules (a non-positive kernel or stride,
         *     padding negative or above half the kernel, a negative divisor), naming it
         */
        public AvgPool2d build() {
            return new AvgPool2d(this);
        }
    }
}
