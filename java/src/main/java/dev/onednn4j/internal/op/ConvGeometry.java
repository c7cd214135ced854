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

    /** Terms in one output's sum: {@code c/groups * kH * kW}, plus one for the bias. */
    public int reductionLength() {
        return c / groups * kH * kW + (bias ? 1 : 0);
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
