package dev.onednn4j.internal.op;

import java.util.Locale;

/**
 * The resolved arithmetic of one pooling call: the arguments, the (N, C, H, W) input, the output size, and the
 * right and bottom padding oneDNN needs to produce it ({@code padBottom >= padH} in ceil mode).
 */
public record PoolGeometry(PoolParams p, int n, int c, int h, int w, int padBottom, int padRight, int outH, int outW) {

    public long[] inputShape() {
        return new long[] {n, c, h, w};
    }

    public long[] outputShape() {
        return new long[] {n, c, outH, outW};
    }

    /**
     * PyTorch's divisor of average-pooling window (oh, ow): the override if set; else the window clipped to the
     * padded input ({@code count_include_pad}) or to the input itself.
     */
    public int divisor(int oh, int ow) {
        if (p.divisorOverride() != 0) {
            return p.divisorOverride();
        }
        int hs = oh * p.strideH() - p.padH();
        int ws = ow * p.strideW() - p.padW();
        int he = Math.min(hs + p.kH(), h + p.padH());
        int we = Math.min(ws + p.kW(), w + p.padW());
        if (p.countIncludePad()) {
            return (he - hs) * (we - ws);
        }
        return (Math.min(he, h) - Math.max(hs, 0)) * (Math.min(we, w) - Math.max(ws, 0));
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%s_pool2d input [%d, %d, %d, %d] -> [%d, %d, %d, %d], kernel (%d, %d), "
                        + "stride (%d, %d), padding (top %d, bottom %d, left %d, right %d), dilation (%d, %d)%s",
                p.max() ? "max" : "avg",
                n,
                c,
                h,
                w,
                n,
                c,
                outH,
                outW,
                p.kH(),
                p.kW(),
                p.strideH(),
                p.strideW(),
                p.padH(),
                padBottom,
                p.padW(),
                padRight,
                p.dilationH(),
                p.dilationW(),
                p.max()
                        ? ""
                        : ", count_include_pad " + p.countIncludePad()
                                + (p.divisorOverride() == 0 ? "" : ", divisor_override " + p.divisorOverride()));
    }
}
