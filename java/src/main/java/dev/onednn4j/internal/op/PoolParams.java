package dev.onednn4j.internal.op;

import java.util.Arrays;
import java.util.Locale;

/**
 * A max or average pooling layer's arguments, checked as PyTorch checks them, and the one place where an input
 * shape is resolved into a {@link PoolGeometry} with PyTorch's output-size rule:
 * {@code out = floor_or_ceil((in + 2 * pad - dilation * (k - 1) - 1) / stride) + 1}, where in ceil mode the last
 * window must start inside the input or the left padding (else it is dropped).
 *
 * @param max             max pooling (else average)
 * @param countIncludePad average: whether the zeros of the padding count in the divisor
 * @param divisorOverride average: the divisor of every window, or 0 for none
 */
public record PoolParams(
        boolean max,
        int kH,
        int kW,
        int strideH,
        int strideW,
        int padH,
        int padW,
        int dilationH,
        int dilationW,
        boolean ceilMode,
        boolean countIncludePad,
        int divisorOverride) {

    public PoolParams {
        if (kH <= 0 || kW <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "kernel size should be greater than zero, but got kH: %d kW: %d", kH, kW));
        }
        if (strideH == 0 || strideW == 0) {
            throw new IllegalArgumentException("stride should not be zero");
        }
        if (strideH < 0 || strideW < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "stride should be greater than zero, but got dH: %d dW: %d", strideH, strideW));
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("pad must be non-negative, but got pad: " + Math.min(padH, padW));
        }
        if (padH > kH / 2 || padW > kW / 2) {
            boolean h = padH > kH / 2;
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "pad should be at most half of kernel size, but got pad=%d and kernel_size=%d",
                    h ? padH : padW,
                    h ? kH : kW));
        }
        if (dilationH <= 0 || dilationW <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "dilation should be greater than zero, but got dilationH: %d dilationW: %d",
                    dilationH,
                    dilationW));
        }
        if (!max && divisorOverride < 0) {
            throw new IllegalArgumentException("divisor must be positive, but got divisor_override=" + divisorOverride);
        }
    }

    /** PyTorch's {@code pooling_output_shape}: the output size along one dimension, in long arithmetic. */
    static long outputSize(long in, long k, long pad, long stride, long dilation, boolean ceil) {
        long span = in + 2 * pad - dilation * (k - 1) - 1 + (ceil ? stride - 1 : 0);
        long out = Math.floorDiv(span, stride) + 1;
        if (ceil && (out - 1) * stride >= in + pad) {
            out--; // the last window would start in the right padding: PyTorch drops it
        }
        return out;
    }

    /**
     * Checks an (N, C, H, W) input and resolves its geometry.
     *
     * @param shown the shape to name in messages (the caller's, e.g. 3-D for an unbatched input)
     */
    public PoolGeometry resolve(long n, long c, long h, long w, long[] shown) {
        if (c <= 0 || h <= 0 || w <= 0) {
            throw new IllegalArgumentException("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                    + "for input, but got:" + Arrays.toString(shown));
        }
        if (n > Integer.MAX_VALUE || c > Integer.MAX_VALUE || h > Integer.MAX_VALUE || w > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "input of size " + Arrays.toString(shown) + " has a dimension over " + Integer.MAX_VALUE);
        }
        long outH = outputSize(h, kH, padH, strideH, dilationH, ceilMode);
        long outW = outputSize(w, kW, padW, strideW, dilationW, ceilMode);
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "Given input size: (%dx%dx%d). Calculated " + "output size: (%dx%dx%d). Output size is too small",
                    c,
                    h,
                    w,
                    c,
                    Math.max(outH, 0),
                    Math.max(outW, 0)));
        }
        // oneDNN's right padding: what the last window reaches past the input (more than padH in ceil mode)
        long padBottom = Math.max(0, (outH - 1) * strideH + (long) dilationH * (kH - 1) + 1 - h - padH);
        long padRight = Math.max(0, (outW - 1) * strideW + (long) dilationW * (kW - 1) + 1 - w - padW);
        return new PoolGeometry(
                this, (int) n, (int) c, (int) h, (int) w, (int) padBottom, (int) padRight, (int) outH, (int) outW);
    }
}
