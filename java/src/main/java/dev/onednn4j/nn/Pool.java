package dev.onednn4j.nn;

import dev.onednn4j.internal.op.PoolGeometry;
import dev.onednn4j.internal.op.PoolParams;
import java.util.Arrays;

/** What the pooling layers share: their input check, and the arguments both builders take. */
final class Pool {
    private Pool() {}

    /** Resolves an (N, C, H, W) or (C, H, W) input shape, refusing other ranks with PyTorch's wording. */
    static PoolGeometry resolve(PoolParams params, long[] shape, String op) {
        if (shape.length != 3 && shape.length != 4) {
            throw new IllegalArgumentException(op + ": Expected 3D or 4D (batch mode) tensor for input, but got input "
                    + "of size: " + Arrays.toString(shape));
        }
        long n = shape.length == 4 ? shape[0] : 1;
        int d = shape.length - 3;
        return params.resolve(n, shape[d], shape[d + 1], shape[d + 2], shape);
    }

    /**
     * kernel_size, stride (the kernel's by default), padding and ceil_mode, remembered as the user gave them (one
     * int or a pair) so the repr prints them as PyTorch does.
     *
     * @param <B> the builder, returned by every setter
     */
    abstract static class Args<B extends Args<B>> {
        final int kH;
        final int kW;
        final boolean kernelPair;
        int sH;
        int sW;
        boolean strideGiven;
        boolean stridePair;
        int padH;
        int padW;
        boolean paddingPair;
        boolean ceilMode;

        Args(int kH, int kW, boolean pair) {
            this.kH = kH;
            this.kW = kW;
            this.kernelPair = pair;
        }

        abstract B self();

        /**
         * The same stride in both dimensions (default: the kernel size).
         *
         * @param stride the step of the window along H and W; positive
         * @return this builder
         */
        public B stride(int stride) {
            return stride(stride, stride, false);
        }

        /**
         * The stride in each dimension (default: the kernel size).
         *
         * @param strideHeight the step of the window along H; positive
         * @param strideWidth  the step of the window along W; positive
         * @return this builder
         */
        public B stride(int strideHeight, int strideWidth) {
            return stride(strideHeight, strideWidth, true);
        }

        private B stride(int h, int w, boolean pair) {
            sH = h;
            sW = w;
            strideGiven = true;
            stridePair = pair;
            return self();
        }

        /**
         * The same padding on all four sides (default 0; at most half the kernel).
         *
         * @param padding rows or columns added at each side; not negative
         * @return this builder
         */
        public B padding(int padding) {
            padH = padW = padding;
            paddingPair = false;
            return self();
        }

        /**
         * {@code padHeight} rows at the top and at the bottom, {@code padWidth} columns at each side.
         *
         * @param padHeight rows added at the top and at the bottom; at most half of kH
         * @param padWidth  columns added at the left and at the right; at most half of kW
         * @return this builder
         */
        public B padding(int padHeight, int padWidth) {
            padH = padHeight;
            padW = padWidth;
            paddingPair = true;
            return self();
        }

        /**
         * Output sizes rounded up instead of down (default false).
         *
         * @param ceilMode true for PyTorch's {@code ceil_mode=True}: a last, partial window where one starts inside
         *     the input or the left padding
         * @return this builder
         */
        public B ceilMode(boolean ceilMode) {
            this.ceilMode = ceilMode;
            return self();
        }

        int strideH() {
            return strideGiven ? sH : kH;
        }

        int strideW() {
            return strideGiven ? sW : kW;
        }

        /** {@code kernel_size=..., stride=..., padding=...} as PyTorch prints them. */
        String repr() {
            String kernel = Repr.intOrPair(kernelPair, kH, kW);
            return "kernel_size=" + kernel + ", stride=" + (strideGiven ? Repr.intOrPair(stridePair, sH, sW) : kernel)
                    + ", padding=" + Repr.intOrPair(paddingPair, padH, padW);
        }
    }
}
