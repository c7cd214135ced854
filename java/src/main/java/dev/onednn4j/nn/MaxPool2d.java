package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.PoolParams;
import dev.onednn4j.internal.op.Pooling;

/**
 * 2-D max pooling, as PyTorch's {@code nn.MaxPool2d}: each output is the largest input in its window.
 *
 * <pre>{@code
 * try (MaxPool2d pool = MaxPool2d.builder(3).stride(2).padding(1).build()) {   // ResNet's stem
 *     Tensor y = pool.forward(x);                                          // (N, 64, 112, 112) -> (N, 64, 56, 56)
 * }
 * }</pre>
 *
 * <h2>Arguments</h2> (see {@link Builder}) kernelSize (int or (kH, kW)); stride (default: the kernel size);
 * padding (default 0, implicit negative infinity, at most half the kernel); dilation (default 1); ceilMode
 * (default false).
 *
 * <h2>Shape</h2> Input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) or (C, H_out, W_out) with
 * {@code H_out = floor_or_ceil((H + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1}; in ceil mode the last
 * window must start inside the input or the left padding, else it is dropped (PyTorch's rule). A channels-last
 * input gives a channels-last output.
 *
 * <p>On oneDNN's pooling primitive. Exact: the output is one of the inputs.
 */
public final class MaxPool2d extends OperationModule {
    private final PoolParams params;
    private final Builder given;

    private MaxPool2d(Builder b) {
        this.given = b;
        this.params = new PoolParams(
                true,
                b.kH,
                b.kW,
                b.strideH(),
                b.strideW(),
                b.padH,
                b.padW,
                b.dilationH,
                b.dilationW,
                b.ceilMode,
                false,
                0);
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
        return new Pooling(Pool.resolve(params, shape, "max_pool2d"), shape.length == 3);
    }

    @Override
    public String extraRepr() {
        Builder b = given;
        return b.repr() + ", dilation=" + Repr.intOrPair(b.dilationPair, b.dilationH, b.dilationW) + ", ceil_mode="
                + Repr.pyBool(b.ceilMode);
    }

    /** Arguments of a {@link MaxPool2d}, named and defaulted as PyTorch's. {@link #build()} checks them. */
    public static final class Builder extends Pool.Args<Builder> {
        private int dilationH = 1;
        private int dilationW = 1;
        private boolean dilationPair;

        private Builder(int kH, int kW, boolean pair) {
            super(kH, kW, pair);
        }

        @Override
        Builder self() {
            return this;
        }

        /**
         * Spacing between kernel elements; 1 (the default) means none, as in PyTorch.
         *
         * @param dilation the spacing along H and W; positive
         * @return this builder
         */
        public Builder dilation(int dilation) {
            dilationH = dilationW = dilation;
            dilationPair = false;
            return this;
        }

        /**
         * Spacing between kernel elements along each dimension; 1 (the default) means none.
         *
         * @param dilationHeight the spacing along H; positive
         * @param dilationWidth  the spacing along W; positive
         * @return this builder
         */
        public Builder dilation(int dilationHeight, int dilationWidth) {
            dilationH = dilationHeight;
            dilationW = dilationWidth;
            dilationPair = true;
            return this;
        }

        /**
         * Checks every argument and builds the layer.
         *
         * @return a new layer, owned by the caller (close it)
         * @throws IllegalArgumentException if an argument breaks PyTorch's rules (a non-positive kernel, stride or
         *     dilation, padding negative or above half the kernel), naming it
         */
        public MaxPool2d build() {
            return new MaxPool2d(this);
        }
    }
}
