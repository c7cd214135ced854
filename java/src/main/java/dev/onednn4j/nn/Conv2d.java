package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.ConvParams;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.Operation;
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
 * {@link Tensor#copyFrom}, a tensor that wraps their memory, a fresh {@link Tensor#segment()} or
 * {@link Tensor#markModified()}) they are reordered again on the next call, once for all the plans, which share one
 * reordered copy.
 * One Conv2d may be used by many threads at once.
 *
 * <p>Every argument and input is checked in Java before any native call; a violation is an
 * {@link IllegalArgumentException} that states the rule and the values, worded as PyTorch's.
 */
public final class Conv2d extends OperationModule {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final ConvParams params;
    private final Padding paddingString; // null when numeric
    private final PaddingMode paddingMode;
    private final Tensor weight;
    private final Tensor bias;

    private Conv2d(Builder b) {
        this.params = new ConvParams(
                b.inChannels,
                b.outChannels,
                b.kH,
                b.kW,
                b.strideH,
                b.strideW,
                b.padH,
                b.padW,
                b.paddingString == Padding.SAME,
                b.dilationH,
                b.dilationW,
                b.groups,
                b.paddingMode.padMode(),
                b.bias);
        this.paddingString = b.paddingString;
        this.paddingMode = b.paddingMode;
        RandomGenerator rng = b.generator != null ? b.generator : new SplittableRandom();
        int fanIn = params.inChannels() / params.groups() * params.kH() * params.kW();
        float bound = (float) (1 / Math.sqrt(fanIn));
        weight = registerParameter("weight", Init.uniform(rng, bound, params.weightShape()));
        bias = registerParameter("bias", b.bias ? Init.uniform(rng, bound, params.outChannels()) : null);
    }

    /**
     * A builder with a square kernel.
     *
     * @param inChannels  C_in, the channels of the input
     * @param outChannels C_out, the channels the convolution produces
     * @param kernelSize  the kernel's height and width
     * @return a builder with PyTorch's defaults for everything else; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int inChannels, int outChannels, int kernelSize) {
        return new Builder(inChannels, outChannels, kernelSize, kernelSize);
    }

    /**
     * A builder with a kH x kW kernel.
     *
     * @param inChannels   C_in, the channels of the input
     * @param outChannels  C_out, the channels the convolution produces
     * @param kernelHeight kH, the kernel's rows
     * @param kernelWidth  kW, the kernel's columns
     * @return a builder with PyTorch's defaults for everything else; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int inChannels, int outChannels, int kernelHeight, int kernelWidth) {
        return new Builder(inChannels, outChannels, kernelHeight, kernelWidth);
    }

    // ---- forward ----------------------------------------------------------------------------------
    // forward(input) and forward(input, out) are OperationModule's: a new output, or the caller's, which must have
    // the output's shape (see the class documentation) in either memory format.

    @Override
    Operation resolve(long[] shape) {
        if (shape.length != 3 && shape.length != 4) {
            throw new IllegalArgumentException("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                    + "input of size: " + Arrays.toString(shape));
        }
        long n = shape.length == 4 ? shape[0] : 1;
        ConvGeometry g =
                params.resolve(n, shape[shape.length - 3], shape[shape.length - 2], shape[shape.length - 1], shape);
        return new Convolution(g, FACE.impl(weight), bias == null ? null : FACE.impl(bias), shape.length == 3);
    }

    /**
     * What oneDNN runs for inputs of this shape and layout: the implementation (e.g.
     * {@code brg_conv_fwd:avx512_core}), whether the input or output is reordered, the scratchpad size. Builds the
     * plan if it does not exist yet, choosing how to run it by measurement (see {@code docs/layouts.md}).
     *
     * @param format     the memory format of the input, and so of the output
     * @param inputShape a 4-D (N, C_in, H, W) input shape
     * @return the plan's implementation, reorders and scratchpad size
     * @throws IllegalArgumentException if {@code inputShape} is not 4-D or does not fit this convolution
     * @throws IllegalStateException if this layer is closed
     */
    public OneDnnPlan oneDnnPlan(MemoryFormat format, long... inputShape) {
        ensureOpen();
        if (inputShape.length != 4) {
            throw new IllegalArgumentException(
                    "oneDnnPlan takes a 4-D (N, C, H, W) input shape, got " + Arrays.toString(inputShape));
        }
        ConvGeometry g = params.resolve(inputShape);
        try (Tensor x = Tensor.zeros(format, inputShape);
                Tensor y = Tensor.zeros(format, g.outputShape())) {
            return withPlan(
                    x,
                    y,
                    p -> new OneDnnPlan(
                            p.implementation(),
                            p.reorders(0),
                            p.reorders(1),
                            p.padsInJava(0),
                            p.scratchpadBytes(),
                            p.toString()));
        }
    }

    /**
     * What oneDNN runs for one input shape and layout.
     *
     * @param implementation   oneDNN's name of the kernel, e.g. {@code brg_conv_fwd:avx512_core}
     * @param reordersInput    whether each call reorders the input into oneDNN's layout
     * @param reordersOutput   whether each call reorders the output back into the caller's layout
     * @param padsInputInJava  whether each call pads the input in Java first and runs oneDNN without padding: for
     *                         the padding modes oneDNN lacks (reflect, replicate, circular), for zero padding with
     *                         weights that are not all finite (so that padded taps give NaN, as in PyTorch), and
     *                         where an output column sees only padding (which crashes oneDNN 3.13's brgemm kernel)
     * @param scratchpadBytes  the scratchpad each concurrent call uses
     * @param description      the whole plan: the operation, the implementation and each argument's layout with the
     *                         caller's where it is reordered, e.g. {@code ...: brg_conv_fwd:avx512_core, src acdb (from
     *                         abcd), weights ..., dst acdb (to abcd)}
     */
    public record OneDnnPlan(
            String implementation,
            boolean reordersInput,
            boolean reordersOutput,
            boolean padsInputInJava,
            long scratchpadBytes,
            String description) {}

    // ---- accessors -------------------------------------------------------------------------------

    /**
     * The weight, (outChannels, inChannels / groups, kH, kW), owned by this layer.
     *
     * @return the layer's own float32 weight tensor (not a copy): do not close it
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor weight() {
        ensureOpen();
        return weight;
    }

    /**
     * The bias, (outChannels), owned by this layer; {@code null} when built with {@code bias(false)}.
     *
     * @return the layer's own float32 bias tensor (not a copy, do not close it), or {@code null}
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor bias() {
        ensureOpen();
        return bias;
    }

    /**
     * The channels the input must have, PyTorch's {@code in_channels}.
     *
     * @return C_in
     */
    public int inChannels() {
        return params.inChannels();
    }

    /**
     * The channels of the output, PyTorch's {@code out_channels}.
     *
     * @return C_out
     */
    public int outChannels() {
        return params.outChannels();
    }

    /**
     * (kH, kW).
     *
     * @return a new array {kH, kW}
     */
    public int[] kernelSize() {
        return new int[] {params.kH(), params.kW()};
    }

    /**
     * The step of the kernel over the input, PyTorch's {@code stride}.
     *
     * @return a new array {stride along H, stride along W}
     */
    public int[] stride() {
        return new int[] {params.strideH(), params.strideW()};
    }

    /**
     * The numeric padding (height, width); for {@link Padding#SAME} see {@link #paddingString()}.
     *
     * @return a new array {rows at the top and at the bottom, columns at the left and at the right}; {0, 0} when
     *     built with {@link Padding#SAME} or {@link Padding#VALID}
     */
    public int[] padding() {
        return new int[] {params.padH(), params.padW()};
    }

    /**
     * {@link Padding#SAME} or {@link Padding#VALID} if given so, else null.
     *
     * @return the padding given by name, or {@code null} when it was given as numbers
     */
    public Padding paddingString() {
        return paddingString;
    }

    /**
     * The spacing between kernel elements, PyTorch's {@code dilation}; 1 means none.
     *
     * @return a new array {dilation along H, dilation along W}
     */
    public int[] dilation() {
        return new int[] {params.dilationH(), params.dilationW()};
    }

    /**
     * The number of blocked connections from input to output channels, PyTorch's {@code groups}.
     *
     * @return the groups: 1 for a full convolution, C_in for a depthwise one
     */
    public int groups() {
        return params.groups();
    }

    /**
     * What the padding is filled with, PyTorch's {@code padding_mode}.
     *
     * @return the padding mode; {@link PaddingMode#ZEROS} by default
     */
    public PaddingMode paddingMode() {
        return paddingMode;
    }

    /**
     * The resolved arithmetic (paddings per side, output size) for an (N, C, H, W) input, after validating
     * it: what the reference and the oneDNN path both compute from. For the library's cross-checks.
     */
    ConvGeometry geometry(long... nchw) {
        return params.resolve(nchw);
    }

    /**
     * The output shape for an input shape, (N, C, H, W) or (C, H, W), after validating it.
     *
     * @param inputShape (N, C_in, H, W), or (C_in, H, W) unbatched
     * @return a new array, (N, C_out, H_out, W_out) or (C_out, H_out, W_out), as in the class documentation
     * @throws IllegalArgumentException if the input shape does not fit this convolution, as {@code forward} would
     *     refuse it
     */
    public long[] outputShape(long... inputShape) {
        return resolve(inputShape.clone()).outputShape();
    }

    @Override
    public String extraRepr() {
        ConvParams p = params;
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "%d, %d, kernel_size=(%d, %d), stride=(%d, %d)",
                p.inChannels(),
                p.outChannels(),
                p.kH(),
                p.kW(),
                p.strideH(),
                p.strideW()));
        if (paddingString != null) {
            s.append(", padding=").append(paddingString);
        } else if (p.padH() != 0 || p.padW() != 0) {
            s.append(String.format(Locale.ROOT, ", padding=(%d, %d)", p.padH(), p.padW()));
        }
        if (p.dilationH() != 1 || p.dilationW() != 1) {
            s.append(String.format(Locale.ROOT, ", dilation=(%d, %d)", p.dilationH(), p.dilationW()));
        }
        if (p.groups() != 1) {
            s.append(", groups=").append(p.groups());
        }
        if (bias == null) {
            s.append(", bias=False");
        }
        if (paddingMode != PaddingMode.ZEROS) {
            s.append(", padding_mode=").append(paddingMode);
        }
        return s.toString();
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

        /**
         * The same stride along both dimensions (default 1).
         *
         * @param stride the step of the kernel along H and W; positive
         * @return this builder
         */
        public Builder stride(int stride) {
            return stride(stride, stride);
        }

        /**
         * The stride along each dimension (default 1).
         *
         * @param strideHeight the step of the kernel along H; positive
         * @param strideWidth  the step of the kernel along W; positive
         * @return this builder
         */
        public Builder stride(int strideHeight, int strideWidth) {
            this.strideH = strideHeight;
            this.strideW = strideWidth;
            return this;
        }

        /**
         * The same padding on all four sides.
         *
         * @param padding rows or columns added at each side (default 0); not negative
         * @return this builder
         */
        public Builder padding(int padding) {
            return padding(padding, padding);
        }

        /**
         * {@code padHeight} rows at the top and at the bottom, {@code padWidth} columns at each side.
         *
         * @param padHeight rows added at the top and at the bottom; not negative
         * @param padWidth  columns added at the left and at the right; not negative
         * @return this builder
         */
        public Builder padding(int padHeight, int padWidth) {
            this.paddingString = null;
            this.padH = padHeight;
            this.padW = padWidth;
            return this;
        }

        /**
         * {@link Padding#VALID} (none) or {@link Padding#SAME} (output size = input size; stride 1 only).
         *
         * @param padding the padding by name, PyTorch's {@code padding='valid'} or {@code 'same'}; replaces any
         *     numeric padding
         * @return this builder
         */
        public Builder padding(Padding padding) {
            this.paddingString = Objects.requireNonNull(padding, "padding");
            this.padH = 0;
            this.padW = 0;
            return this;
        }

        /**
         * Spacing between kernel elements; 1 (the default) means none, as in PyTorch.
         *
         * @param dilation the spacing along H and W; positive
         * @return this builder
         */
        public Builder dilation(int dilation) {
            return dilation(dilation, dilation);
        }

        /**
         * Spacing between kernel elements along each dimension; 1 (the default) means none.
         *
         * @param dilationHeight the spacing along H; positive
         * @param dilationWidth  the spacing along W; positive
         * @return this builder
         */
        public Builder dilation(int dilationHeight, int dilationWidth) {
            this.dilationH = dilationHeight;
            this.dilationW = dilationWidth;
            return this;
        }

        /**
         * Splits the channels into groups convolved separately, as PyTorch's {@code groups} (default 1).
         *
         * @param groups positive, dividing both inChannels and outChannels; inChannels for a depthwise convolution
         * @return this builder
         */
        public Builder groups(int groups) {
            this.groups = groups;
            return this;
        }

        /**
         * Whether the layer adds a learnable bias (default true).
         *
         * @param bias false for none, as before a BatchNorm; {@link Conv2d#bias()} is then {@code null}
         * @return this builder
         */
        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * What the padding is filled with (default {@link PaddingMode#ZEROS}).
         *
         * @param paddingMode zeros, or the input reflected, replicated or wrapped around
         * @return this builder
         */
        public Builder paddingMode(PaddingMode paddingMode) {
            this.paddingMode = Objects.requireNonNull(paddingMode, "paddingMode");
            return this;
        }

        /**
         * The generator the initial weights and bias are drawn from (default: a randomly seeded one).
         *
         * @param generator the source of the initial values; drawn from once, by {@link #build()}
         * @return this builder
         */
        public Builder generator(RandomGenerator generator) {
            this.generator = Objects.requireNonNull(generator, "generator");
            return this;
        }

        /**
         * Draws the initial weights and bias from a generator seeded with {@code seed}: reproducible.
         *
         * @param seed the seed of a {@link SplittableRandom}
         * @return this builder
         */
        public Builder seed(long seed) {
            return generator(new SplittableRandom(seed));
        }

        /**
         * Checks every argument and builds the layer.
         *
         * @return a new layer with freshly initialised weight and bias, owned by the caller (close it)
         * @throws IllegalArgumentException if an argument breaks PyTorch's rules (non-positive sizes, negative
         *     padding, channels not divisible by groups, {@link Padding#SAME} with a stride), naming it
         */
        public Conv2d build() {
            return new Conv2d(this);
        }
    }
}
