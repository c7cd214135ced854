package dev.onednn4j.internal.op;

import java.util.Locale;

/**
 * The resolved arithmetic of one 2-D convolution call, in PyTorch's conventions (dilation 1 = none), already
 * validated by {@link ConvParams#resolve}: every size fits an {@code int}. Padding is per side:
 * {@code padTop/padBottom} rows, {@code padLeft/padRight} columns.
 */
public record ConvGeometry(
        int n,
        int c,
        int h,
        int w,
        int outC,
        int kH,
        int kW,
        int strideH,
        int strideW,
        int padTop,
        int padBottom,
        int padLeft,
        int padRight,
        int dilationH,
        int dilationW,
        int groups,
        PadMode paddingMode,
        boolean bias,
        int outH,
        int outW) {

    /** {@code floor((size + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1}, in long arithmetic. */
    static long outputSize(long size, long padBefore, long padAfter, long k, long stride, long dilation) {
        return (size + padBefore + padAfter - dilation * (k - 1) - 1) / stride + 1;
    }

    public long[] inputShape() {
        return new long[] {n, c, h, w};
    }

    public long[] outputShape() {
        return new long[] {n, outC, outH, outW};
    }

    /** (outC, c/groups, kH, kW). */
    public long[] weightShape() {
        return new long[] {outC, c / groups, kH, kW};
    }

    /** The same convolution with a bias (when folding a BatchNorm gives it one). */
    public ConvGeometry withBias() {
        return new ConvGeometry(
                n,
                c,
                h,
                w,
                outC,
                kH,
                kW,
                strideH,
                strideW,
                padTop,
                padBottom,
                padLeft,
                padRight,
                dilationH,
                dilationW,
                groups,
                paddingMode,
                true,
                outH,
                outW);
    }

    /** Terms in one output's sum: {@code c/groups * kH * kW}, plus one for the bias. */
    public int reductionLength() {
        return c / groups * kH * kW + (bias ? 1 : 0);
    }

    /**
     * Whether some output column's whole dilated kernel window lies in the left or right padding, so that it reads
     * no input column at all (the column sees only zeros, or only the bias). oneDNN 3.13's brgemm convolution
     * crashes on exactly these (upstream issues 5942, fixed by 5944 after 3.13): {@link Convolution} pads such
     * inputs explicitly, so that oneDNN sees no padding. Rows never trigger it.
     */
    public boolean hasPaddingOnlyColumn() {
        return hasPaddingOnlyWindow(w, padLeft, kW, strideW, dilationW, outW);
    }

    /**
     * Whether an output position {@code o} in {@code [0, out)} exists whose taps {@code o * stride - padBefore +
     * k * dilation}, {@code k < kernel}, all miss {@code [0, size)}. Closed form, in long arithmetic: the taps of a
     * window that starts past the input's end all miss; one that starts before the input (at {@code -t}) reaches it
     * first at {@code (-t) mod dilation} after {@code ceil(t / dilation)} taps, which is periodic in {@code o}.
     */
    static boolean hasPaddingOnlyWindow(long size, long padBefore, long kernel, long stride, long dilation, long out) {
        if (out <= 0) {
            return false;
        }
        if ((out - 1) * stride - padBefore > size - 1) {
            return true; // the last window starts past the input's end
        }
        // windows starting before the input: o * stride < padBefore
        long before = Math.min(out, (padBefore + stride - 1) / stride);
        if (before == 0) {
            return false;
        }
        if (padBefore > (kernel - 1) * dilation) {
            return true; // the first window ends before the input starts
        }
        // Now every such window reaches index >= 0 within its taps; it misses if its first tap >= 0 is past the end.
        // That tap is (-t) mod dilation, t = padBefore - o * stride: below dilation, and periodic in o with period
        // <= dilation.
        if (size >= dilation) {
            return false;
        }
        long period = Math.min(before, dilation);
        if (period > 1 << 20) {
            return true; // not worth the loop on such a shape: answer as if it had one (the safe path)
        }
        for (long o = 0; o < period; o++) {
            long t = padBefore - o * stride;
            if (Math.floorMod(-t, dilation) > size - 1) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "conv2d input [%d, %d, %d, %d] -> [%d, %d, %d, %d], kernel (%d, %d), "
                        + "stride (%d, %d), padding (top %d, bottom %d, left %d, right %d), dilation (%d, %d), "
                        + "groups %d, padding_mode %s, bias %s",
                n,
                c,
                h,
                w,
                n,
                outC,
                outH,
                outW,
                kH,
                kW,
                strideH,
                strideW,
                padTop,
                padBottom,
                padLeft,
                padRight,
                dilationH,
                dilationW,
                groups,
                paddingMode.name().toLowerCase(Locale.ROOT),
                bias);
    }
}
