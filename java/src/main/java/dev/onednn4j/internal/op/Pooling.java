package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.LayoutChoice;
import dev.onednn4j.internal.exec.LayoutChoice.Side;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanChoice;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.List;

/**
 * Max or average pooling of (N, C, H, W), resolved for one shape, with PyTorch's semantics. Tensors: input,
 * output.
 *
 * <p>oneDNN: the pooling primitive, on the layouts layout choice by measurement keeps for the caller's
 * ({@link PlanChoice}; by default the caller's input and oneDNN's choice of output layout, reordered if the caller's
 * differs). PyTorch's
 * average divisor counts the zero padding but not the extra cells a ceil-mode window reaches past it, and may be
 * overridden; oneDNN's {@code avg_include_padding} divides by the whole kernel. Where the two differ, a binary
 * post-op multiplies each output position by {@code kernel / PyTorch's divisor}, a constant of shape
 * (1, 1, OH, OW) that broadcasts over images and channels.
 */
public final class Pooling implements Operation {
    private final PoolGeometry g;
    private final boolean unbatched;

    /** @param unbatched the caller's tensors are (C, H, W): the output shape drops the batch of one */
    public Pooling(PoolGeometry g, boolean unbatched) {
        this.g = g;
        this.unbatched = unbatched;
    }

    public PoolGeometry geometry() {
        return g;
    }

    @Override
    public long[] outputShape() {
        return unbatched ? new long[] {g.c(), g.outH(), g.outW()} : g.outputShape();
    }

    /** Whether PyTorch's divisor differs from the whole kernel somewhere (when the window counts the padding). */
    private boolean needsCorrection() {
        PoolParams p = g.p();
        if (p.max() || (!p.countIncludePad() && p.divisorOverride() == 0)) {
            return false;
        }
        for (int oh = 0; oh < g.outH(); oh++) {
            for (int ow = 0; ow < g.outW(); ow++) {
                if (g.divisor(oh, ow) != p.kH() * p.kW()) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public Plan plan(TensorImpl... t) {
        TensorImpl x = t[0];
        TensorImpl out = t[1];
        // with measuring off, the first candidate: the default
        return PlanChoice.choose(g + ", input " + x.format() + ", output " + out.format(), candidates(x, out), x, out);
    }

    /**
     * The ways to run a call on {@code x} and {@code out} ({@link LayoutChoice#candidates}), the default first: the
     * caller's input read as it is into oneDNN's choice of output layout. oneDNN pools NHWC and channel blocks with
     * its fast kernels and NCHW with a slower one (it transposes inside), so an NCHW caller may gain by reordering.
     */
    List<PlanChoice.Candidate> candidates(TensorImpl x, TensorImpl out) {
        Side[][] pairs = {
            {Side.CALLER, Side.ANY},
            {Side.CALLER, Side.CALLER},
        };
        return LayoutChoice.candidates(
                pairs,
                g.inputShape(),
                x,
                g.outputShape(),
                out,
                (src, dst, attr) -> describe(src, dst, DataType.F32, attr),
                impl -> true,
                (srcSide, dstSide, impl) -> plan(x, out, srcSide, dstSide, impl));
    }

    private Plan plan(TensorImpl x, TensorImpl out, Side srcSide, Side dstSide, LayoutChoice.Implementation impl) {
        Plan.Builder b = Plan.builder(g + ", input " + x.format() + ", output " + out.format());
        MemoryDesc src = srcSide.in(b, b.input(Arg.SRC, 0, Layouts.of(g.inputShape(), x)), g.inputShape(), x);
        MemoryDesc dst = b.output(Arg.DST, 1, Layouts.of(g.outputShape(), out));
        MemoryDesc dstPrim = dstSide == Side.ANY ? null : dstSide.in(b, dst, g.outputShape(), out);
        for (Constant c : constants()) {
            TensorImpl factor = b.owned(TensorImpl.of(c.values(), c.dims()));
            b.constant(c.arg(), factor, Layouts.of(c.dims(), Format.CONTIGUOUS));
        }
        return b.build(attr -> LayoutChoice.at(impl, describe(src, dstPrim, DataType.F32, attr), g));
    }

    /**
     * Pools {@code src} into a layout oneDNN picks, in {@code dt}. Where PyTorch's divisor differs from the whole
     * kernel (windows counting part of the padding), oneDNN's include-padding average is multiplied by a constant
     * factor per output position, a binary post-op: so the primitive takes that post-op itself, and
     * {@code attr} must carry no other.
     */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        PoolParams p = g.p();
        boolean correct = needsCorrection();
        boolean mask = p.max() && emptyWindows() != null;
        Algorithm alg = p.max()
                ? Algorithm.POOLING_MAX
                : p.countIncludePad() || correct || p.divisorOverride() != 0
                        ? Algorithm.POOLING_AVG_INCLUDE_PADDING
                        : Algorithm.POOLING_AVG_EXCLUDE_PADDING;
        try (MemoryDesc factor =
                        correct || mask ? Layouts.of(new long[] {1, 1, g.outH(), g.outW()}, Format.CONTIGUOUS) : null;
                PostOps post = correct || mask
                        ? PostOps.create().binary(mask ? Algorithm.BINARY_ADD : Algorithm.BINARY_MUL, factor)
                        : null;
                MemoryDesc d = dst == null ? MemoryDesc.any(g.outputShape(), dt) : null) {
            if (post != null) {
                attr.postOps(post);
            }
            return PrimitiveDesc.pooling(
                    Engine.cpu(),
                    alg,
                    src,
                    dst == null ? d : dst,
                    new long[] {p.strideH(), p.strideW()},
                    new long[] {p.kH(), p.kW()},
                    new long[] {p.dilationH() - 1, p.dilationW() - 1},
                    new long[] {p.padH(), p.padW()},
                    new long[] {g.padBottom(), g.padRight()},
                    attr);
        }
    }

    /**
     * For max pooling, the output positions whose whole (dilated) window lies in the padding: oneDNN gives them the
     * lowest float, PyTorch the max of nothing, {@code -inf}. Null when there are none.
     */
    private boolean[] emptyWindows() {
        PoolParams p = g.p();
        boolean[] rows = emptyWindows(g.outH(), g.h(), p.padH(), p.kH(), p.strideH(), p.dilationH());
        boolean[] cols = emptyWindows(g.outW(), g.w(), p.padW(), p.kW(), p.strideW(), p.dilationW());
        if (rows == null && cols == null) {
            return null;
        }
        boolean[] empty = new boolean[g.outH() * g.outW()];
        for (int oh = 0; oh < g.outH(); oh++) {
            for (int ow = 0; ow < g.outW(); ow++) {
                empty[oh * g.outW() + ow] = (rows != null && rows[oh]) || (cols != null && cols[ow]);
            }
        }
        return empty;
    }

    private static boolean[] emptyWindows(int out, int size, int pad, int k, int stride, int dilation) {
        boolean[] empty = null;
        for (int o = 0; o < out; o++) {
            boolean any = false;
            for (int t = 0; t < k && !any; t++) {
                long i = (long) o * stride - pad + (long) t * dilation;
                any = i >= 0 && i < size;
            }
            if (!any) {
                if (empty == null) {
                    empty = new boolean[out];
                }
                empty[o] = true;
            }
        }
        return empty;
    }

    /**
     * The constant of {@link #describe}'s binary post-op, when it has one: average pooling's correction factors, or
     * max pooling's mask ({@code -inf} where a window lies in the padding, 0 elsewhere).
     */
    @Override
    public List<Constant> constants() {
        PoolParams p = g.p();
        long[] dims = {1, 1, g.outH(), g.outW()};
        float[] f = new float[g.outH() * g.outW()];
        if (p.max()) {
            boolean[] empty = emptyWindows();
            if (empty == null) {
                return List.of();
            }
            for (int i = 0; i < f.length; i++) {
                f[i] = empty[i] ? Float.NEGATIVE_INFINITY : 0f;
            }
            return List.of(new Constant(Arg.postOpSrc1(0), dims, null, f));
        }
        if (!needsCorrection()) {
            return List.of();
        }
        for (int oh = 0; oh < g.outH(); oh++) {
            for (int ow = 0; ow < g.outW(); ow++) {
                f[oh * g.outW() + ow] = (float) ((double) p.kH() * p.kW() / g.divisor(oh, ow));
            }
        }
        return List.of(new Constant(Arg.postOpSrc1(0), dims, null, f));
    }

    @Override
    public double[] exact(float[] x) {
        return compute(x, null);
    }

    /**
     * The pooling written plainly, in double: each output is the max or the sum over divisor of the input cells its
     * window covers. The max skips NaN and starts at the lowest float (so a window of NaN or -inf only gives the
     * lowest float), and a window wholly in the padding gives -inf: oneDNN's arithmetic, which the library keeps
     * (PyTorch's NaN wins instead).
     *
     * @param magnitude if not null, receives for average pooling {@code sum|x| / divisor} per output
     */
    public double[] compute(float[] x, double[] magnitude) {
        PoolParams p = g.p();
        double[] y = new double[g.n() * g.c() * g.outH() * g.outW()];
        int o = 0;
        // [N, C, H, W] -> [N, C, OH, OW]
        for (int n = 0; n < g.n(); n++) {
            for (int c = 0; c < g.c(); c++) {
                int plane = (n * g.c() + c) * g.h();
                for (int oh = 0; oh < g.outH(); oh++) {
                    for (int ow = 0; ow < g.outW(); ow++) {
                        // max: oneDNN's arithmetic, the library's (docs/non-finite-values.md): NaN is skipped,
                        // the max starts at the lowest float, a window wholly in the padding is -inf
                        double acc = p.max() ? -Float.MAX_VALUE : 0;
                        double abs = 0;
                        boolean taps = false;
                        for (int kh = 0; kh < p.kH(); kh++) {
                            int ih = oh * p.strideH() - p.padH() + kh * p.dilationH();
                            if (ih < 0 || ih >= g.h()) {
                                continue;
                            }
                            for (int kw = 0; kw < p.kW(); kw++) {
                                int iw = ow * p.strideW() - p.padW() + kw * p.dilationW();
                                if (iw < 0 || iw >= g.w()) {
                                    continue;
                                }
                                double v = x[(plane + ih) * g.w() + iw];
                                taps = true;
                                if (p.max()) {
                                    acc = v > acc ? v : acc;
                                } else {
                                    acc += v;
                                    abs += Math.abs(v);
                                }
                            }
                        }
                        if (p.max() && !taps) {
                            acc = Double.NEGATIVE_INFINITY;
                        }
                        if (!p.max()) {
                            int d = g.divisor(oh, ow);
                            acc /= d;
                            if (magnitude != null) {
                                magnitude[o] = abs / d;
                            }
                        }
                        y[o++] = acc;
                    }
                }
            }
        }
        return y;
    }

    /**
     * Per element, how far oneDNN's float result may be from {@link #compute}: 0 for max pooling (it only
     * compares); for average pooling the sum of at most {@code kH * kW} terms, the division, and the correction
     * multiply: {@code gamma(kH * kW + 3) * sum|x| / divisor}.
     */
    @Override
    public double[] bound(float[] x) {
        double[] magnitude = new double[g.n() * g.c() * g.outH() * g.outW()];
        if (g.p().max()) {
            return magnitude;
        }
        compute(x, magnitude);
        double gamma = RoundingBound.gamma((long) g.p().kH() * g.p().kW() + 3);
        for (int i = 0; i < magnitude.length; i++) {
            magnitude[i] *= gamma;
        }
        return magnitude;
    }
}
