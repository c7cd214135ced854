package dev.onednn4j.internal.op;

import java.util.Arrays;
import java.util.Locale;

/**
 * A convolution layer's arguments, checked as PyTorch checks them, and the one place where an input shape is
 * resolved into a {@link ConvGeometry} (padding per side, output size) or refused with PyTorch's wording and the
 * actual values. Everything is computed in {@code long}, so no argument overflows into a wrong shape.
 *
 * @param same padding {@code 'same'}: {@code padH}, {@code padW} are then ignored
 */
public record ConvParams(
        int inChannels,
        int outChannels,
        int kH,
        int kW,
        int strideH,
        int strideW,
        int padH,
        int padW,
        boolean same,
        int dilationH,
        int dilationW,
        int groups,
        PadMode mode,
        boolean bias) {

    /** Largest element count of a weight: what a Java array can hold, so the reference can read it. */
    public static final long MAX_WEIGHT_ELEMENTS = Integer.MAX_VALUE - 8;

    public ConvParams {
        if (inChannels <= 0 || outChannels <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "in_channels and out_channels must be positive, but got inChannels=%d, outChannels=%d",
                    inChannels,
                    outChannels));
        }
        if (groups <= 0) {
            throw new IllegalArgumentException("groups must be a positive integer, but got groups=" + groups);
        }
        if (inChannels % groups != 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "in_channels must be divisible by groups, but got inChannels=%d, groups=%d",
                    inChannels,
                    groups));
        }
        if (outChannels % groups != 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "out_channels must be divisible by groups, but got outChannels=%d, groups=%d",
                    outChannels,
                    groups));
        }
        if (kH <= 0 || kW <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "kernel size should be greater than zero, but got kernel_size=(%d, %d)", kH, kW));
        }
        if (strideH <= 0 || strideW <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "non-positive stride is not supported, but got stride=(%d, %d)", strideH, strideW));
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "negative padding is not supported, but got padding=(%d, %d)", padH, padW));
        }
        if (dilationH <= 0 || dilationW <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "dilation should be greater than zero, but got dilation=(%d, %d)",
                    dilationH,
                    dilationW));
        }
        if (same && (strideH != 1 || strideW != 1)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "padding='same' is not supported for strided convolutions, but got stride=(%d, %d)",
                    strideH,
                    strideW));
        }
        long elements;
        try {
            elements = Math.multiplyExact(
                    Math.multiplyExact(Math.multiplyExact((long) outChannels, inChannels / groups), kH), kW);
        } catch (ArithmeticException overflow) {
            elements = Long.MAX_VALUE;
        }
        if (elements > MAX_WEIGHT_ELEMENTS) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "weight of shape [%d, %d, %d, %d] has more than %d elements",
                    outChannels,
                    inChannels / groups,
                    kH,
                    kW,
                    MAX_WEIGHT_ELEMENTS));
        }
    }

    /** (outChannels, inChannels / groups, kH, kW). */
    public long[] weightShape() {
        return new long[] {outChannels, inChannels / groups, kH, kW};
    }

    /**
     * Checks an (N, C, H, W) input against these arguments and resolves its geometry.
     *
     * @param shown the shape to name in messages (the caller's, e.g. 3-D for an unbatched input)
     */
    public ConvGeometry resolve(long n, long c, long h, long w, long[] shown) {
        if (c != inChannels) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "Given groups=%d, weight of size %s, expected input%s to have %d channels, but got %d channels "
                            + "instead",
                    groups,
                    Arrays.toString(weightShape()),
                    Arrays.toString(shown),
                    inChannels,
                    c));
        }
        if (h <= 0 || w <= 0 || n < 0) {
            throw new IllegalArgumentException("Expected input's non-batch dimensions to have positive length, but "
                    + "input has a shape of " + Arrays.toString(shown));
        }
        if (h > Integer.MAX_VALUE || w > Integer.MAX_VALUE || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "input of size " + Arrays.toString(shown) + " has a dimension over " + Integer.MAX_VALUE);
        }
        long top, bottom, left, right;
        if (same) {
            long totalH = (long) dilationH * (kH - 1);
            long totalW = (long) dilationW * (kW - 1);
            top = totalH / 2;
            bottom = totalH - top;
            left = totalW / 2;
            right = totalW - left;
        } else {
            top = bottom = padH;
            left = right = padW;
        }
        if (mode == PadMode.REFLECT || mode == PadMode.CIRCULAR) {
            checkPadding(Math.max(top, bottom), h, 2, shown);
            checkPadding(Math.max(left, right), w, 3, shown);
        }
        long paddedH = h + top + bottom;
        long paddedW = w + left + right;
        long effKH = (long) dilationH * (kH - 1) + 1;
        long effKW = (long) dilationW * (kW - 1) + 1;
        if (paddedH < effKH || paddedW < effKW) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "Calculated padded input size per channel: (%d x %d). Kernel size: (%d x %d). Kernel size can't "
                            + "be greater than actual input size",
                    paddedH,
                    paddedW,
                    effKH,
                    effKW));
        }
        long outH = ConvGeometry.outputSize(h, top, bottom, kH, strideH, dilationH);
        long outW = ConvGeometry.outputSize(w, left, right, kW, strideW, dilationW);
        if (paddedH > Integer.MAX_VALUE
                || paddedW > Integer.MAX_VALUE
                || outH > Integer.MAX_VALUE
                || outW > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "padded input of size (%d x %d) and output of size (%d x %d) must each fit in %d",
                    paddedH,
                    paddedW,
                    outH,
                    outW,
                    Integer.MAX_VALUE));
        }
        return new ConvGeometry(
                (int) n,
                (int) c,
                (int) h,
                (int) w,
                outChannels,
                kH,
                kW,
                strideH,
                strideW,
                (int) top,
                (int) bottom,
                (int) left,
                (int) right,
                dilationH,
                dilationW,
                groups,
                mode,
                bias,
                (int) outH,
                (int) outW);
    }

    /** {@link #resolve(long, long, long, long, long[])} of a 4-D shape. */
    public ConvGeometry resolve(long... nchw) {
        if (nchw.length != 4) {
            throw new IllegalArgumentException(
                    "geometry takes a 4-D (N, C, H, W) input shape, got " + Arrays.toString(nchw));
        }
        return resolve(nchw[0], nchw[1], nchw[2], nchw[3], nchw);
    }

    private void checkPadding(long pad, long size, int dim, long[] shown) {
        if (mode == PadMode.REFLECT && pad >= size) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "Padding size should be less than the corresponding input dimension, but got: padding (%d, %d) "
                            + "at dimension %d of input %s (padding_mode='reflect')",
                    pad,
                    pad,
                    dim,
                    Arrays.toString(shown)));
        }
        if (mode == PadMode.CIRCULAR && pad > size) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "Padding value causes wrapping around more than once: padding %d > size %d at dimension %d of "
                            + "input %s (padding_mode='circular')",
                    pad,
                    size,
                    dim,
                    Arrays.toString(shown)));
        }
    }
}
