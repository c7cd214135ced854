package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Padder;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.LayoutChoice;
import dev.onednn4j.internal.exec.LayoutChoice.Side;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanChoice;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;

/**
 * A 2-D convolution, {@code out = conv(x, weight) + bias}, resolved for one input shape. Tensors: input, output.
 *
 * <p>oneDNN: a direct convolution whose source, weights and destination layouts oneDNN chooses ({@code any}),
 * except that a channels-last input or output is taken as is (oneDNN's fast kernels work in NHWC); the weights
 * are reordered once. Padding modes oneDNN does not have are done by padding in Java first, as PyTorch does.
 */
public final class Convolution implements Operation {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");

    private final ConvGeometry g;
    private final TensorImpl weight;
    private final TensorImpl bias;
    private final boolean unbatched;

    /**
     * @param bias      null without
     * @param unbatched the caller's tensors are (C, H, W): the output shape drops the batch of one
     */
    public Convolution(ConvGeometry g, TensorImpl weight, TensorImpl bias, boolean unbatched) {
        this.g = g;
        this.weight = weight;
        this.bias = bias;
        this.unbatched = unbatched;
    }

    public ConvGeometry geometry() {
        return g;
    }

    @Override
    public long[] outputShape() {
        return unbatched ? new long[] {g.outC(), g.outH(), g.outW()} : g.outputShape();
    }

    /**
     * 1 when zero padding meets weights that are not all finite, else 0. Zero padding means the padded taps exist
     * and hold zeros, as in PyTorch (which pads, then convolves): an infinite or NaN weight times a padded zero is
     * NaN. oneDNN's direct kernels skip padded taps instead, so such weights get a plan that pads explicitly. Checked
     * once per version of the weights.
     */
    @Override
    public int planVariant() {
        if (g.paddingMode() != PadMode.ZEROS || !padded()) {
            return 0;
        }
        long version = weight.version();
        long state = weightState;
        if (state >>> 1 != version) {
            state = version << 1 | (allFinite(weight.toFloatArray()) ? 0 : 1);
            weightState = state;
        }
        return (int) (state & 1);
    }

    /** The weights' version (shifted left by one) and whether they hold a non-finite value (bit 0); -1 unknown. */
    private volatile long weightState = -1;

    private boolean padded() {
        return (g.padTop() | g.padBottom() | g.padLeft() | g.padRight()) != 0;
    }

    private static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Plan plan(TensorImpl... t) {
        TensorImpl x = t[0];
        TensorImpl out = t[1];
        if (explicitPadding() || !PlanChoice.measuring()) {
            return plan(x, out, preferred(x), preferred(out), null);
        }
        return PlanChoice.choose(
                g + ", input " + x.format() + " " + x.dtype() + ", output " + out.format() + " " + out.dtype(),
                candidates(x, out),
                x,
                out);
    }

    /**
     * The ways to run a call on {@code x} and {@code out}, oneDNN's default first: the primitive reading the caller's
     * layouts as they are, oneDNN's preferred layouts, NHWC and channel blocks (with reorders around it), in the
     * combinations that can differ ({@link LayoutChoice#candidates}). A channels-last caller's default reads and
     * writes its tensors in place.
     */
    List<PlanChoice.Candidate> candidates(TensorImpl x, TensorImpl out) {
        Side[][] pairs = {
            {preferred(x), preferred(out)},
            {Side.CALLER, Side.CALLER},
            {Side.ANY, Side.ANY},
            {Side.CALLER, Side.ANY},
            {Side.ANY, Side.CALLER},
        };
        return LayoutChoice.candidates(
                pairs,
                g.inputShape(),
                x,
                g.outputShape(),
                out,
                (src, dst, attr) -> {
                    try (MemoryDesc w = Layouts.any(weightDims());
                            MemoryDesc b = bias == null ? null : Layouts.of(new long[] {g.outC()}, Format.CONTIGUOUS)) {
                        return descriptor(src, w, b, dst, true, attr);
                    }
                },
                impl -> !(oneColumnStrided() && impl.contains("brg_conv_fwd")),
                (srcSide, dstSide, impl) -> plan(x, out, srcSide, dstSide, impl));
    }

    /**
     * oneDNN's default for a caller's tensor: a channels-last one is read or written in place (oneDNN's fast kernels
     * work in NHWC), any other in the layout oneDNN chooses.
     */
    private static Side preferred(TensorImpl t) {
        return t.format() == Format.CHANNELS_LAST ? Side.CALLER : Side.ANY;
    }

    /**
     * Whether the input is padded in Java before oneDNN runs: for the padding modes oneDNN lacks, zero padding with
     * weights that are not all finite, and an output column that sees only padding.
     */
    private boolean explicitPadding() {
        return padded() && (g.paddingMode() != PadMode.ZEROS || planVariant() == 1 || g.hasPaddingOnlyColumn());
    }

    /**
     * The plan reading {@code x} and writing {@code out}, the primitive asked for the layouts {@code srcSide} and
     * {@code dstSide}, at the implementation {@code impl} (null for oneDNN's first).
     */
    private Plan plan(TensorImpl x, TensorImpl out, Side srcSide, Side dstSide, LayoutChoice.Implementation impl) {
        boolean explicitPad = explicitPadding();
        if (explicitPad && g.paddingMode() == PadMode.ZEROS && planVariant() == 0) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: an output column sees only padding, which crashes oneDNN 3.13''s brgemm convolution "
                            + "(oneDNN issue 5942): padding explicitly instead",
                    g);
        }
        Plan.Builder b = Plan.builder(g + ", input " + x.format() + ", output " + out.format());
        MemoryDesc src;
        long[] srcDims;
        if (explicitPad) {
            int[] rows = new int[g.h() + g.padTop() + g.padBottom()];
            int[] cols = new int[g.w() + g.padLeft() + g.padRight()];
            for (int y = 0; y < rows.length; y++) {
                rows[y] = g.paddingMode().sourceIndex(y - g.padTop(), g.h());
            }
            for (int i = 0; i < cols.length; i++) {
                cols[i] = g.paddingMode().sourceIndex(i - g.padLeft(), g.w());
            }
            srcDims = new long[] {g.n(), g.c(), rows.length, cols.length};
            Format f = x.dim() == 4 ? x.format() : Format.CONTIGUOUS;
            src = b.paddedInput(
                    Arg.SRC,
                    0,
                    Layouts.of(srcDims, f),
                    new Padder(g.n(), g.c(), rows, cols, f.strides(g.inputShape()), f.strides(srcDims)));
        } else {
            srcDims = g.inputShape();
            src = b.input(Arg.SRC, 0, Layouts.of(srcDims, x));
        }
        long[] dstDims = g.outputShape();
        MemoryDesc dst = b.output(Arg.DST, 1, Layouts.of(dstDims, out));
        long[] wDims = weightDims();
        b.constant(Arg.WEIGHTS, weight, Layouts.of(wDims, weight));
        MemoryDesc biasMd = bias == null ? null : b.constant(Arg.BIAS, bias, Layouts.of(new long[] {g.outC()}, bias));
        MemoryDesc srcPrim = srcSide.in(b, src, srcDims, x);
        MemoryDesc dstPrim = dstSide.in(b, dst, dstDims, out);
        MemoryDesc wAny = b.temporary(Layouts.any(wDims));
        boolean padded = !explicitPad;
        return b.build(attr -> LayoutChoice.at(impl, descriptor(srcPrim, wAny, biasMd, dstPrim, padded, attr), g));
    }

    /** (outC, C/groups, kH, kW), or (groups, outC/groups, C/groups, kH, kW) when grouped, as oneDNN wants. */
    private long[] weightDims() {
        return g.groups() == 1
                ? g.weightShape()
                : new long[] {g.groups(), g.outC() / g.groups(), g.c() / g.groups(), g.kH(), g.kW()};
    }

    private PrimitiveDesc descriptor(
            MemoryDesc src, MemoryDesc weights, MemoryDesc biasMd, MemoryDesc dst, boolean padded, PrimitiveAttr attr) {
        PrimitiveDesc pd = rawDescriptor(src, weights, biasMd, dst, padded, attr);
        if (oneColumnStrided() && pd.implementation().contains("brg_conv_fwd")) {
            // oneDNN 3.13's brgemm convolution sums the wrong input columns when the output is one column wide
            // and the W stride is above 1 (found by scripts/fuzz; no crash, silently wrong): take the next
            // implementation oneDNN offers (its direct or reference kernel) for these tiny shapes
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: one output column with stride {1} gives wrong results in oneDNN 3.13''s brgemm convolution: "
                            + "using the next implementation",
                    g,
                    strideW());
            while (pd.implementation().contains("brg_conv_fwd")) { // also as the kernel of jit_uni_ncsp
                if (!pd.nextImplementation()) {
                    pd.close();
                    throw new IllegalStateException("oneDNN offers no implementation but brgemm for " + g);
                }
            }
        }
        return pd;
    }

    /**
     * The stride oneDNN is given along one dimension: where the output has one position the stride moves nothing,
     * so any stride above the slack {@code paddedIn - extent} gives the same result; the smallest such stride
     * ({@code slack + 1}) keeps oneDNN's internal int arithmetic away from huge strides (found by scripts/fuzz under
     * AVX2: {@code stride=Integer.MAX_VALUE} divides by zero in the brgemm convolution's blocking, SIGFPE).
     */
    static long effectiveStride(long out, long stride, long paddedIn, long k, long dilation) {
        if (out != 1) {
            return stride;
        }
        long slack = paddedIn - ((k - 1) * dilation + 1);
        return Math.min(stride, slack + 1);
    }

    /** The H stride oneDNN is given ({@link #effectiveStride}). */
    private long strideH() {
        return effectiveStride(g.outH(), g.strideH(), g.h() + g.padTop() + g.padBottom(), g.kH(), g.dilationH());
    }

    /** The W stride oneDNN is given ({@link #effectiveStride}). */
    private long strideW() {
        return effectiveStride(g.outW(), g.strideW(), g.w() + g.padLeft() + g.padRight(), g.kW(), g.dilationW());
    }

    /** The family oneDNN 3.13's brgemm convolution computes wrongly: one output column, W stride above 1. */
    boolean oneColumnStrided() {
        return g.outW() == 1 && strideW() > 1;
    }

    private PrimitiveDesc rawDescriptor(
            MemoryDesc src, MemoryDesc weights, MemoryDesc biasMd, MemoryDesc dst, boolean padded, PrimitiveAttr attr) {
        long pad = padded ? 1 : 0;
        return PrimitiveDesc.convolution(
                Engine.cpu(),
                src,
                weights,
                biasMd,
                dst,
                new long[] {strideH(), strideW()},
                new long[] {g.dilationH() - 1, g.dilationW() - 1},
                new long[] {pad * g.padTop(), pad * g.padLeft()},
                new long[] {pad * g.padBottom(), pad * g.padRight()},
                attr);
    }

    /**
     * Null where the eager path pads in Java (padding modes other than zeros, an output column that sees only
     * padding, non-finite weights) and for unbatched inputs: compiled graphs do not do that yet.
     */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        if (unbatched
                || (padded() && (g.paddingMode() != PadMode.ZEROS || g.hasPaddingOnlyColumn() || planVariant() == 1))) {
            return null;
        }
        try (MemoryDesc w = MemoryDesc.any(weightDims(), dt);
                MemoryDesc b = bias == null ? null : Layouts.of(new long[] {g.outC()}, Format.CONTIGUOUS);
                MemoryDesc d = dst == null ? MemoryDesc.any(g.outputShape(), dt) : null) {
            return descriptor(src, w, b, dst == null ? d : dst, true, attr);
        }
    }

    @Override
    public List<Constant> constants() {
        List<Constant> c = new ArrayList<>();
        c.add(new Constant(Arg.WEIGHTS, weightDims(), weight, null));
        if (bias != null) {
            c.add(new Constant(Arg.BIAS, new long[] {g.outC()}, bias, null));
        }
        return c;
    }

    @Override
    public boolean fusesPostOps() {
        return true;
    }

    /** The weight tensor (outC, C/groups, kH, kW). */
    public TensorImpl weight() {
        return weight;
    }

    /** The bias tensor (outC), or null. */
    public TensorImpl bias() {
        return bias;
    }

    @Override
    public double[] exact(float[] x) {
        return compute(g, x, weight.toFloatArray(), bias == null ? null : bias.toFloatArray(), null);
    }

    /** {@code gamma(C_in/groups * kH * kW + 1) * (sum|w*x| + |b|)} per output: any summation order, bias included. */
    @Override
    public double[] bound(float[] x) {
        double[] magnitude = new double[Math.toIntExact((long) g.n() * g.outC() * g.outH() * g.outW())];
        compute(g, x, weight.toFloatArray(), bias == null ? null : bias.toFloatArray(), magnitude);
        double gamma = RoundingBound.gamma((long) g.c() / g.groups() * g.kH() * g.kW() + 1);
        for (int i = 0; i < magnitude.length; i++) {
            magnitude[i] *= gamma;
        }
        return magnitude;
    }

    /**
     * The convolution written to be read, as the seed's loops: for each image, output channel, output row and
     * column, sum the input patch times the kernel, plus the bias. Sums in double. Every option is handled by where
     * it reads the input: stride and dilation move the patch, padding reads zeros (or, for the other padding modes,
     * the reflected, replicated or wrapped input), groups restrict the channels. A padded zero is multiplied like
     * any input, so a non-finite weight on it gives NaN, as PyTorch's padded convolution does.
     *
     * @param x      input (N, C, H, W), row-major
     * @param w      weights (outC, C/groups, kH, kW), row-major
     * @param b      bias (outC), or null
     * @param absSum if not null, receives for each output the sum of |weight * input| over its terms, plus |bias|:
     *               the scale of the rounding error bound
     * @return the output (N, outC, outH, outW), row-major
     */
    public static double[] compute(ConvGeometry g, float[] x, float[] w, float[] b, double[] absSum) {
        double[] y = new double[g.n() * g.outC() * g.outH() * g.outW()];
        double[] magnitude = new double[1];
        int o = 0;
        // [N, C, H, W] -> [N, OC, OH, OW]
        for (int n = 0; n < g.n(); n++) {
            for (int oc = 0; oc < g.outC(); oc++) {
                for (int oh = 0; oh < g.outH(); oh++) {
                    for (int ow = 0; ow < g.outW(); ow++) {
                        y[o] = element(g, x, w, b, n, oc, oh, ow, magnitude);
                        if (absSum != null) {
                            absSum[o] = magnitude[0];
                        }
                        o++;
                    }
                }
            }
        }
        return y;
    }

    /**
     * One output element (n, oc, oh, ow) in double: the input patch times the kernel, plus the bias.
     *
     * @param magnitude {@code magnitude[0]} receives the sum of |weight * input| over the terms, plus |bias|
     */
    public static double element(
            ConvGeometry g, float[] x, float[] w, float[] b, int n, int oc, int oh, int ow, double[] magnitude) {
        int inPerGroup = g.c() / g.groups();
        int group = oc / (g.outC() / g.groups());
        PadMode mode = g.paddingMode();
        double sum = 0;
        double abs = 0;
        // patch [C/groups, kH, kW] of input image n, times kernel oc
        for (int i = 0; i < inPerGroup; i++) {
            int ic = group * inPerGroup + i;
            for (int kh = 0; kh < g.kH(); kh++) {
                int ih = mode.sourceIndex(oh * g.strideH() - g.padTop() + kh * g.dilationH(), g.h());
                for (int kw = 0; kw < g.kW(); kw++) {
                    int iw = mode.sourceIndex(ow * g.strideW() - g.padLeft() + kw * g.dilationW(), g.w());
                    // a tap in the zero padding exists and reads 0 (0 * inf is NaN, as in PyTorch)
                    double input = ih < 0 || iw < 0 ? 0.0 : x[((n * g.c() + ic) * g.h() + ih) * g.w() + iw];
                    double term = input * w[((oc * inPerGroup + i) * g.kH() + kh) * g.kW() + kw];
                    sum += term;
                    abs += Math.abs(term);
                }
            }
        }
        double bias = b == null ? 0 : b[oc];
        magnitude[0] = abs + Math.abs(bias);
        return sum + bias;
    }
}
