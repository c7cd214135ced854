package dev.onednn4j.nn;

import dev.onednn4j.internal.ConvGeometry;
import dev.onednn4j.internal.ConvolutionKernel;
import dev.onednn4j.internal.dnnl.OneDnnConvolution;
import dev.onednn4j.internal.reference.ReferenceConvolution;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A 2-D convolution over an input of several planes, as PyTorch's {@code nn.Conv2d}:
 * {@code out(N_i, C_out_j) = bias(C_out_j) + sum_k weight(C_out_j, k) ⋆ input(N_i, k)}, where ⋆ is
 * the 2-D cross-correlation.
 *
 * <pre>{@code
 * try (Conv2d conv = Conv2d.builder(16, 33, 3).stride(2).build();
 *      Tensor x = Tensor.zeros(20, 16, 50, 100);
 *      Tensor y = conv.forward(x)) {          // (20, 33, 24, 49)
 * }
 * }</pre>
 *
 * <h2>Arguments</h2> (see {@link Builder}) inChannels, outChannels, kernelSize (int or (kH, kW)); stride
 * (default 1), padding (default 0; an int, a pair, {@link Padding#VALID} or {@link Padding#SAME}),
 * dilation (default 1, meaning none), groups (default 1; inChannels and outChannels must be divisible by
 * it; {@code groups == inChannels} is depthwise), bias (default true), paddingMode (default
 * {@link PaddingMode#ZEROS}).
 *
 * <h2>Shape</h2>
 * Input (N, C_in, H, W) or, unbatched, (C_in, H, W); output (N, C_out, H_out, W_out) or
 * (C_out, H_out, W_out), where
 * {@code H_out = floor((H + padTop + padBottom - dilation[0] * (kernelSize[0] - 1) - 1) / stride[0]) + 1},
 * and likewise W_out. A channels-last input gives a channels-last output. A batch of 0 gives an empty output.
 *
 * <h2>Variables</h2>
 * {@link #weight()} of shape (C_out, C_in / groups, kH, kW) and {@link #bias()} of shape (C_out), both
 * initialised from U(-sqrt(k), sqrt(k)), {@code k = groups / (C_in * kH * kW)}, as PyTorch does, from the
 * builder's generator.
 *
 * <h2>Running</h2>
 * On oneDNN by default; {@code to(Backend.REFERENCE)} switches to the plain Java loops. For each input
 * shape and layout a plan is built once (primitive, weights in oneDNN's layout, reorders only where the
 * caller's layout differs) and kept until {@link #close()}; after the weights change (through
 * {@link Tensor#copyFrom} or {@link Tensor#markModified()}) they are reordered again on the next call.
 * One Conv2d may be used by many threads at once.
 *
 * <p>Every argument and input is checked in Java before any native call; a violation is an
 * {@link IllegalArgumentException} that states the rule and the values, worded as PyTorch's.
 */
public final class Conv2d extends Module {

    private final int inChannels;
    private final int outChannels;
    private final int kH;
    private final int kW;
    private final int strideH;
    private final int strideW;
    private final Padding paddingString; // null when numeric
    private final int padH;
    private final int padW;
    private final int dilationH;
    private final int dilationW;
    private final int groups;
    private final PaddingMode paddingMode;
    private final Tensor weight;
    private final Tensor bias;
    private final ReferenceConvolution reference = new ReferenceConvolution();
    private volatile OneDnnConvolution onednn;
    private volatile Shape lastShape;

    /** The geometry of the most recent input shape: reusing it lets a repeated call allocate nothing. */
    private record Shape(long n, long c, long h, long w, ConvGeometry geometry) {
    }

    private Conv2d(Builder b) {
        this.inChannels = b.inChannels;
        this.outChannels = b.outChannels;
        this.kH = b.kH;
        this.kW = b.kW;
        this.strideH = b.strideH;
        this.strideW = b.strideW;
        this.paddingString = b.paddingString;
        this.padH = b.padH;
        this.padW = b.padW;
        this.dilationH = b.dilationH;
        this.dilationW = b.dilationW;
        this.groups = b.groups;
        this.paddingMode = b.paddingMode;
        RandomGenerator rng = b.generator != null ? b.generator : new SplittableRandom();
        int fanIn = inChannels / groups * kH * kW;
        float bound = (float) (1 / Math.sqrt(fanIn));
        weight = registerParameter("weight", uniform(rng, bound, outChannels, inChannels / groups, kH, kW));
        bias = registerParameter("bias", b.bias ? uniform(rng, bound, outChannels) : null);
    }

    private static Tensor uniform(RandomGenerator rng, float bound, long... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) {
            v[i] = bound * (2 * rng.nextFloat() - 1);
        }
        t.copyFrom(v);
        return t;
    }

    /** A builder with a square kernel. */
    public static Builder builder(int inChannels, int outChannels, int kernelSize) {
        return new Builder(inChannels, outChannels, kernelSize, kernelSize);
    }

    /** A builder with a kH x kW kernel. */
    public static Builder builder(int inChannels, int outChannels, int kernelHeight, int kernelWidth) {
        return new Builder(inChannels, outChannels, kernelHeight, kernelWidth);
    }

    // ---- forward ---------------------------------------------------------------------------------

    /**
     * Convolves {@code input} (N, C_in, H, W) or (C_in, H, W) into a new tensor, owned by the caller, in
     * the input's memory format.
     */
    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        ConvGeometry g = geometry(input);
        long[] outShape = input.dim() == 3 ? new long[] {outChannels, g.outH(), g.outW()} : g.outputShape();
        Tensor out = Tensor.zeros(input.dim() == 3 ? MemoryFormat.CONTIGUOUS : input.memoryFormat(), outShape);
        try {
            run(g, input, out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /**
     * Convolves {@code input} into {@code out}, which must have the output's shape (see the class
     * documentation) and may be in either memory format. Allocates nothing once the plan for this input
     * shape exists.
     */
    public void forward(Tensor input, Tensor out) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(out, "out");
        ConvGeometry g = geometry(input);
        boolean unbatched = input.dim() == 3;
        if (out.dim() != input.dim() || out.size(-1) != g.outW() || out.size(-2) != g.outH()
                || out.size(-3) != outChannels || (!unbatched && out.size(0) != g.n())) {
            long[] expected = unbatched ? new long[] {outChannels, g.outH(), g.outW()} : g.outputShape();
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "out has shape %s, but the output of %s for input of size %s has shape %s",
                    Arrays.toString(out.shape()), getName(), Arrays.toString(input.shape()),
                    Arrays.toString(expected)));
        }
        if (out.isReadOnly()) {
            throw new IllegalArgumentException("out is read-only (" + out + "); it cannot receive the output");
        }
        if (!out.isClosed() && !input.isClosed()
                && out.segment().asOverlappingSlice(input.segment()).isPresent()) {
            throw new IllegalArgumentException("out must not share memory with the input");
        }
        run(g, input, out);
    }

    private void run(ConvGeometry g, Tensor input, Tensor out) {
        if (g.n() == 0) {
            return; // empty batch: empty output
        }
        ConvolutionKernel kernel = backend() == Backend.REFERENCE ? reference : onednn();
        if (input.dim() == 3) {
            // 3-D tensors are always contiguous: view them as a batch of one, without copying.
            try (Tensor x4 = input.view(1, g.c(), g.h(), g.w()); Tensor y4 = out.view(g.outputShape())) {
                kernel.forward(g, x4, weight, bias, y4);
            }
        } else {
            kernel.forward(g, input, weight, bias, out);
        }
    }

    private OneDnnConvolution onednn() {
        OneDnnConvolution k = onednn;
        if (k == null) {
            synchronized (this) {
                ensureOpen();
                k = onednn;
                if (k == null) {
                    k = new OneDnnConvolution();
                    onednn = k;
                }
            }
        }
        return k;
    }

    /**
     * What oneDNN chose for inputs of this shape and layout: the implementation (e.g.
     * {@code brg_conv_fwd:avx512_core}), whether the input or output is reordered, the scratchpad size.
     * Builds the plan if it does not exist yet.
     */
    public OneDnnPlan oneDnnPlan(MemoryFormat format, long... inputShape) {
        ensureOpen();
        if (inputShape.length != 4) {
            throw new IllegalArgumentException("oneDnnPlan takes a 4-D (N, C, H, W) input shape, got "
                    + Arrays.toString(inputShape));
        }
        ConvGeometry g = geometry(inputShape, inputShape);
        var info = onednn().planInfo(g, format, format);
        return new OneDnnPlan(info.implementation(), info.reordersSource(), info.reordersDestination(),
                info.scratchpadBytes());
    }

    /**
     * What oneDNN runs for one input shape and layout.
     *
     * @param implementation   oneDNN's name of the kernel, e.g. {@code brg_conv_fwd:avx512_core}
     * @param reordersInput    whether each call reorders the input into oneDNN's layout
     * @param reordersOutput   whether each call reorders the output back into the caller's layout
     * @param scratchpadBytes  the scratchpad each concurrent call uses
     */
    public record OneDnnPlan(String implementation, boolean reordersInput, boolean reordersOutput,
                             long scratchpadBytes) {
    }

    // ---- validation ------------------------------------------------------------------------------

    private ConvGeometry geometry(Tensor input) {
        int rank = input.dim();
        if (rank != 3 && rank != 4) {
            throw new IllegalArgumentException("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                    + "input of size: " + Arrays.toString(input.shape()));
        }
        long n = rank == 4 ? input.size(0) : 1;
        long c = input.size(-3);
        long h = input.size(-2);
        long w = input.size(-1);
        Shape s = lastShape;
        if (s != null && s.n == n && s.c == c && s.h == h && s.w == w) {
            return s.geometry;
        }
        ConvGeometry g = geometry(new long[] {n, c, h, w}, input.shape());
        lastShape = new Shape(n, c, h, w, g);
        return g;
    }

    /** Checks an (N, C, H, W) input against this layer; {@code shown} is the shape for messages. */
    private ConvGeometry geometry(long[] nchw, long[] shown) {
        long n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
        if (c != inChannels) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "Given groups=%d, weight of size %s, expected input%s to have %d channels, but got %d channels "
                            + "instead", groups, Arrays.toString(weightShape()), Arrays.toString(shown),
                    inChannels, c));
        }
        if (h <= 0 || w <= 0 || n < 0) {
            throw new IllegalArgumentException("Expected input's non-batch dimensions to have positive length, but "
                    + "input has a shape of " + Arrays.toString(shown));
        }
        if (h > Integer.MAX_VALUE || w > Integer.MAX_VALUE || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("input of size " + Arrays.toString(shown) + " has a dimension over "
                    + Integer.MAX_VALUE);
        }
        int top, bottom, left, right;
        if (paddingString == Padding.SAME) {
            int totalH = dilationH * (kH - 1);
            int totalW = dilationW * (kW - 1);
            top = totalH / 2;
            bottom = totalH - top;
            left = totalW / 2;
            right = totalW - left;
        } else {
            top = bottom = padH;
            left = right = padW;
        }
        if (paddingMode == PaddingMode.REFLECT || paddingMode == PaddingMode.CIRCULAR) {
            checkPadding(Math.max(top, bottom), h, 2, shown);
            checkPadding(Math.max(left, right), w, 3, shown);
        }
        long paddedH = h + top + bottom;
        long paddedW = w + left + right;
        long effKH = (long) dilationH * (kH - 1) + 1;
        long effKW = (long) dilationW * (kW - 1) + 1;
        if (paddedH < effKH || paddedW < effKW) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "Calculated padded input size per channel: (%d x %d). Kernel size: (%d x %d). Kernel size can't "
                            + "be greater than actual input size", paddedH, paddedW, effKH, effKW));
        }
        return new ConvGeometry((int) n, (int) c, (int) h, (int) w, outChannels, kH, kW, strideH, strideW, top,
                bottom, left, right, dilationH, dilationW, groups, paddingMode, bias != null);
    }

    private void checkPadding(int pad, long size, int dim, long[] shown) {
        if (paddingMode == PaddingMode.REFLECT && pad >= size) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "Padding size should be less than the corresponding input dimension, but got: padding (%d, %d) "
                            + "at dimension %d of input %s (padding_mode='reflect')", pad, pad, dim,
                    Arrays.toString(shown)));
        }
        if (paddingMode == PaddingMode.CIRCULAR && pad > size) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "Padding value causes wrapping around more than once: padding %d > size %d at dimension %d of "
                            + "input %s (padding_mode='circular')", pad, size, dim, Arrays.toString(shown)));
        }
    }

    private long[] weightShape() {
        return new long[] {outChannels, inChannels / groups, kH, kW};
    }

    // ---- accessors -------------------------------------------------------------------------------

    /** The weight, (outChannels, inChannels / groups, kH, kW), owned by this layer. */
    public Tensor weight() {
        ensureOpen();
        return weight;
    }

    /** The bias, (outChannels), owned by this layer; {@code null} when built with {@code bias(false)}. */
    public Tensor bias() {
        ensureOpen();
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    /** (kH, kW). */
    public int[] kernelSize() {
        return new int[] {kH, kW};
    }

    public int[] stride() {
        return new int[] {strideH, strideW};
    }

    /** The numeric padding (height, width); for {@link Padding#SAME} see {@link #paddingString()}. */
    public int[] padding() {
        return new int[] {padH, padW};
    }

    /** {@link Padding#SAME} or {@link Padding#VALID} if given so, else null. */
    public Padding paddingString() {
        return paddingString;
    }

    public int[] dilation() {
        return new int[] {dilationH, dilationW};
    }

    public int groups() {
        return groups;
    }

    public PaddingMode paddingMode() {
        return paddingMode;
    }

    /**
     * The resolved arithmetic (paddings per side, output size) for an (N, C, H, W) input, after validating
     * it: what the reference and the oneDNN path both compute from. For tools and cross-checks.
     */
    public ConvGeometry geometry(long... nchw) {
        if (nchw.length != 4) {
            throw new IllegalArgumentException("geometry takes a 4-D (N, C, H, W) input shape, got "
                    + Arrays.toString(nchw));
        }
        return geometry(nchw, nchw);
    }

    /** The output shape for an input shape, (N, C, H, W) or (C, H, W), after validating it. */
    public long[] outputShape(long... inputShape) {
        if (inputShape.length != 3 && inputShape.length != 4) {
            throw new IllegalArgumentException("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                    + "input of size: " + Arrays.toString(inputShape));
        }
        long[] nchw = inputShape.length == 4 ? inputShape
                : new long[] {1, inputShape[0], inputShape[1], inputShape[2]};
        ConvGeometry g = geometry(nchw, inputShape);
        return inputShape.length == 4 ? g.outputShape() : new long[] {outChannels, g.outH(), g.outW()};
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%d, %d, kernel_size=(%d, %d), stride=(%d, %d)",
                inChannels, outChannels, kH, kW, strideH, strideW));
        if (paddingString != null) {
            s.append(", padding=").append(paddingString);
        } else if (padH != 0 || padW != 0) {
            s.append(String.format(Locale.ROOT, ", padding=(%d, %d)", padH, padW));
        }
        if (dilationH != 1 || dilationW != 1) {
            s.append(String.format(Locale.ROOT, ", dilation=(%d, %d)", dilationH, dilationW));
        }
        if (groups != 1) {
            s.append(", groups=").append(groups);
        }
        if (bias == null) {
            s.append(", bias=False");
        }
        if (paddingMode != PaddingMode.ZEROS) {
            s.append(", padding_mode=").append(paddingMode);
        }
        return s.toString();
    }

    @Override
    protected void release() {
        OneDnnConvolution k;
        synchronized (this) {
            k = onednn;
            onednn = null;
        }
        if (k != null) {
            k.close(); // waits for running calls
        }
    }

    // ---- builder ---------------------------------------------------------------------------------

    /**
     * Arguments of a {@link Conv2d}, named and defaulted as PyTorch's. {@link #build()} checks them all.
     */
    public static final class Builder {
        private final int inChannels;
        private final int outChannels;
        private final int kH;
        private final int kW;
        private int strideH = 1;
        private int strideW = 1;
        private Padding paddingString;
        private int padH;
        private int padW;
        private int dilationH = 1;
        private int dilationW = 1;
        private int groups = 1;
        private boolean bias = true;
        private PaddingMode paddingMode = PaddingMode.ZEROS;
        private RandomGenerator generator;

        private Builder(int inChannels, int outChannels, int kH, int kW) {
            this.inChannels = inChannels;
            this.outChannels = outChannels;
            this.kH = kH;
            this.kW = kW;
        }

        public Builder stride(int stride) {
            return stride(stride, stride);
        }

        public Builder stride(int strideHeight, int strideWidth) {
            this.strideH = strideHeight;
            this.strideW = strideWidth;
            return this;
        }

        /** The same padding on all four sides. */
        public Builder padding(int padding) {
            return padding(padding, padding);
        }

        /** {@code padHeight} rows at the top and at the bottom, {@code padWidth} columns at each side. */
        public Builder padding(int padHeight, int padWidth) {
            this.paddingString = null;
            this.padH = padHeight;
            this.padW = padWidth;
            return this;
        }

        /** {@link Padding#VALID} (none) or {@link Padding#SAME} (output size = input size; stride 1 only). */
        public Builder padding(Padding padding) {
            this.paddingString = Objects.requireNonNull(padding, "padding");
            this.padH = 0;
            this.padW = 0;
            return this;
        }

        /** Spacing between kernel elements; 1 (the default) means none, as in PyTorch. */
        public Builder dilation(int dilation) {
            return dilation(dilation, dilation);
        }

        public Builder dilation(int dilationHeight, int dilationWidth) {
            this.dilationH = dilationHeight;
            this.dilationW = dilationWidth;
            return this;
        }

        public Builder groups(int groups) {
            this.groups = groups;
            return this;
        }

        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        public Builder paddingMode(PaddingMode paddingMode) {
            this.paddingMode = Objects.requireNonNull(paddingMode, "paddingMode");
            return this;
        }

        /** The generator the initial weights and bias are drawn from (default: a randomly seeded one). */
        public Builder generator(RandomGenerator generator) {
            this.generator = Objects.requireNonNull(generator, "generator");
            return this;
        }

        /** Draws the initial weights and bias from a generator seeded with {@code seed}: reproducible. */
        public Builder seed(long seed) {
            return generator(new SplittableRandom(seed));
        }

        /** Checks every argument and builds the layer. */
        public Conv2d build() {
            if (inChannels <= 0 || outChannels <= 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "in_channels and out_channels must be positive, but got inChannels=%d, outChannels=%d",
                        inChannels, outChannels));
            }
            if (groups <= 0) {
                throw new IllegalArgumentException("groups must be a positive integer, but got groups=" + groups);
            }
            if (inChannels % groups != 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "in_channels must be divisible by groups, but got inChannels=%d, groups=%d", inChannels,
                        groups));
            }
            if (outChannels % groups != 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "out_channels must be divisible by groups, but got outChannels=%d, groups=%d", outChannels,
                        groups));
            }
            if (kH <= 0 || kW <= 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "kernel size should be greater than zero, but got kernel_size=(%d, %d)", kH, kW));
            }
            if (strideH <= 0 || strideW <= 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "non-positive stride is not supported, but got stride=(%d, %d)", strideH, strideW));
            }
            if (padH < 0 || padW < 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "negative padding is not supported, but got padding=(%d, %d)", padH, padW));
            }
            if (dilationH <= 0 || dilationW <= 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "dilation should be greater than zero, but got dilation=(%d, %d)", dilationH, dilationW));
            }
            if (paddingString == Padding.SAME && (strideH != 1 || strideW != 1)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "padding='same' is not supported for strided convolutions, but got stride=(%d, %d)",
                        strideH, strideW));
            }
            long fan = (long) inChannels / groups * kH * kW;
            if (fan * outChannels > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "weight of shape [%d, %d, %d, %d] has more than %d elements", outChannels,
                        inChannels / groups, kH, kW, Integer.MAX_VALUE - 8));
            }
            return new Conv2d(this);
        }
    }
}
