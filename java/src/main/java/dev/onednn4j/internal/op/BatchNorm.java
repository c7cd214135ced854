package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.LayoutChoice;
import dev.onednn4j.internal.exec.LayoutChoice.Side;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanChoice;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Batch normalization for inference on (N, C, H, W), resolved for one shape:
 * {@code y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]}, with the running statistics, or with the
 * batch's own mean and biased variance over (N, H, W) when there are none. Tensors: input, output.
 *
 * <p>oneDNN: the batch normalization primitive in the input's layout, or in the one layout choice by measurement
 * keeps for the caller's ({@link PlanChoice}) ({@code use_global_stats},
 * {@code use_scale}, {@code use_shift}); an output in another layout is reordered into. {@link #withRelu()} is the
 * same normalization followed by {@code max(y, 0)} in one pass ({@code fuse_norm_relu}): what compiling a
 * pre-activation {@code BatchNorm -> ReLU} (DenseNet's) makes of it.
 */
public final class BatchNorm implements Operation {
    private final long[] shape;
    private final double eps;
    private final TensorImpl mean;
    private final TensorImpl var;
    private final TensorImpl weight;
    private final TensorImpl bias;
    private final boolean relu;

    /**
     * @param mean, var    running statistics, or both null to normalize with the batch's own
     * @param weight, bias affine parameters, or both null for none
     */
    public BatchNorm(long[] shape, double eps, TensorImpl mean, TensorImpl var, TensorImpl weight, TensorImpl bias) {
        this(shape, eps, mean, var, weight, bias, false);
    }

    private BatchNorm(
            long[] shape,
            double eps,
            TensorImpl mean,
            TensorImpl var,
            TensorImpl weight,
            TensorImpl bias,
            boolean relu) {
        this.relu = relu;
        this.shape = shape.clone();
        this.eps = eps;
        this.mean = mean;
        this.var = var;
        this.weight = weight;
        this.bias = bias;
    }

    /** This normalization followed by {@code max(y, 0)}, computed in one pass. */
    public BatchNorm withRelu() {
        return new BatchNorm(shape, eps, mean, var, weight, bias, true);
    }

    /** Whether {@code max(y, 0)} follows the normalization ({@link #withRelu()}). */
    public boolean fusesRelu() {
        return relu;
    }

    @Override
    public long[] outputShape() {
        return shape.clone();
    }

    @Override
    public Plan plan(TensorImpl... t) {
        TensorImpl x = t[0];
        TensorImpl out = t[1];
        // with measuring off, the first candidate: the default
        return PlanChoice.choose(
                description() + ", input " + x.format() + ", output " + out.format(), candidates(x, out), x, out);
    }

    /**
     * The ways to run a call on {@code x} and {@code out} ({@link LayoutChoice#candidates}), the default first: in
     * the caller's input layout. The primitive writes the layout it reads; oneDNN's NCHW kernel is slower than its
     * NHWC and blocked ones, so an NCHW caller may gain by reordering.
     */
    List<PlanChoice.Candidate> candidates(TensorImpl x, TensorImpl out) {
        Side[][] pairs = {{Side.CALLER, Side.CALLER}};
        return LayoutChoice.candidates(
                pairs,
                shape,
                x,
                shape,
                out,
                (src, dst, attr) -> describe(src, null, DataType.F32, attr),
                impl -> true,
                (srcSide, dstSide, impl) -> plan(x, out, srcSide, impl));
    }

    private String description() {
        return String.format(
                Locale.ROOT,
                "batch_norm %s eps %s, %s statistics%s%s",
                Arrays.toString(shape),
                eps,
                mean != null ? "running" : "batch",
                weight != null ? ", affine" : "",
                relu ? ", relu" : "");
    }

    private Plan plan(TensorImpl x, TensorImpl out, Side side, LayoutChoice.Implementation impl) {
        Plan.Builder b = Plan.builder(description());
        MemoryDesc src = side.in(b, b.input(Arg.SRC, 0, Layouts.of(shape, x)), shape, x);
        b.output(Arg.DST, 1, Layouts.of(shape, out));
        long[] c = {shape[1]};
        if (mean != null) {
            b.constant(Arg.MEAN, mean, Layouts.of(c, mean));
            b.constant(Arg.VARIANCE, var, Layouts.of(c, var));
        }
        if (weight != null) {
            b.constant(Arg.SCALE, weight, Layouts.of(c, weight));
            b.constant(Arg.SHIFT, bias, Layouts.of(c, bias));
        }
        return b.build(attr -> LayoutChoice.at(impl, describe(src, null, DataType.F32, attr), description()));
    }

    /** Normalizes {@code src} into its own layout; {@code dst} and {@code dt} follow {@code src}. */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return PrimitiveDesc.batchNormalization(
                Engine.cpu(), src, src, (float) eps, mean != null, weight != null, relu, attr);
    }

    @Override
    public List<Constant> constants() {
        long[] c = {shape[1]};
        List<Constant> list = new ArrayList<>();
        if (mean != null) {
            list.add(new Constant(Arg.MEAN, c, mean, null));
            list.add(new Constant(Arg.VARIANCE, c, var, null));
        }
        if (weight != null) {
            list.add(new Constant(Arg.SCALE, c, weight, null));
            list.add(new Constant(Arg.SHIFT, c, bias, null));
        }
        return list;
    }

    /**
     * The per-channel affine map inference applies, {@code y = x * scale + shift}, in double: {@code scale =
     * weight / sqrt(var + eps)}, {@code shift = bias - mean * scale}; null with batch statistics. What folding
     * into a preceding convolution multiplies in; null too with a fused ReLU, which is not affine.
     */
    public double[][] affine() {
        if (mean == null || relu) {
            return null;
        }
        float[] m = mean.toFloatArray();
        float[] v = var.toFloatArray();
        float[] w = weight == null ? null : weight.toFloatArray();
        float[] b = bias == null ? null : bias.toFloatArray();
        double[] scale = new double[m.length];
        double[] shift = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            scale[i] = (w == null ? 1.0 : w[i]) / Math.sqrt((double) v[i] + eps);
            shift[i] = (b == null ? 0.0 : b[i]) - m[i] * scale[i];
        }
        return new double[][] {scale, shift};
    }

    @Override
    public double[] exact(float[] x) {
        return compute(x, null);
    }

    /**
     * The normalization in double, written plainly.
     *
     * @param magnitude if not null, receives per element {@code (|x| + |mean|) * |scale| + |bias|}, the scale of
     *                  its rounding error, with {@code scale = weight / sqrt(var + eps)}
     */
    public double[] compute(float[] x, double[] magnitude) {
        int n = (int) shape[0];
        int channels = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        double[] mu = new double[channels];
        double[] sigma2 = new double[channels];
        if (mean != null) {
            float[] m = mean.toFloatArray();
            float[] v = var.toFloatArray();
            for (int c = 0; c < channels; c++) {
                mu[c] = m[c];
                sigma2[c] = v[c];
            }
        } else {
            // the batch's own statistics over (N, H, W); biased variance, as PyTorch normalizes with
            for (int c = 0; c < channels; c++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    for (int p = 0; p < plane; p++) {
                        sum += x[(i * channels + c) * plane + p];
                    }
                }
                mu[c] = sum / ((double) n * plane);
                double sq = 0;
                for (int i = 0; i < n; i++) {
                    for (int p = 0; p < plane; p++) {
                        double d = x[(i * channels + c) * plane + p] - mu[c];
                        sq += d * d;
                    }
                }
                sigma2[c] = sq / ((double) n * plane);
            }
        }
        float[] w = weight == null ? null : weight.toFloatArray();
        float[] bb = bias == null ? null : bias.toFloatArray();
        double[] y = new double[x.length];
        // [N, C, H, W] -> [N, C, H, W]
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < channels; c++) {
                double scale = (w == null ? 1 : w[c]) / Math.sqrt(sigma2[c] + eps);
                double shift = bb == null ? 0 : bb[c];
                for (int p = 0; p < plane; p++) {
                    int at = (i * channels + c) * plane + p;
                    y[at] = (x[at] - mu[c]) * scale + shift;
                    if (relu) {
                        y[at] = Math.max(y[at], 0); // max(y, 0) moves two values no further apart: the bound holds
                    }
                    if (magnitude != null) {
                        magnitude[at] = (Math.abs(x[at]) + Math.abs(mu[c])) * Math.abs(scale) + Math.abs(shift);
                    }
                }
            }
        }
        return y;
    }

    /**
     * The rounding bound of each element of {@link #compute}. With running statistics, a float evaluation in any
     * of the usual forms ({@code (x - mean) * s + b} or {@code x * s + (b - mean * s)}, {@code s} computed as
     * {@code weight / sqrt(var + eps)}) rounds at most eight times on the way: {@code gamma(8)} times the
     * magnitude. With batch statistics (M = N*H*W elements per channel) the float mean errs by at most
     * {@code gamma(M) * mean|x|} and the float variance by {@code gamma(M + 4) * mean((|x| + |mean|)^2)}, which
     * moves {@code s} by half that relative to {@code var + eps}: both are added, to first order.
     */
    @Override
    public double[] bound(float[] x) {
        double[] magnitude = new double[x.length];
        compute(x, magnitude);
        double g8 = RoundingBound.gamma(8);
        for (int i = 0; i < magnitude.length; i++) {
            magnitude[i] *= g8;
        }
        if (mean != null) {
            return magnitude;
        }
        int n = (int) shape[0];
        int channels = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        long m = (long) n * plane;
        float[] w = weight == null ? null : weight.toFloatArray();
        for (int c = 0; c < channels; c++) {
            double sum = 0;
            double abs = 0;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < plane; p++) {
                    sum += x[(i * channels + c) * plane + p];
                    abs += Math.abs(x[(i * channels + c) * plane + p]);
                }
            }
            double mu = sum / m;
            double sq = 0;
            double wide = 0;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < plane; p++) {
                    double v = x[(i * channels + c) * plane + p];
                    sq += (v - mu) * (v - mu);
                    wide += (Math.abs(v) + Math.abs(mu)) * (Math.abs(v) + Math.abs(mu));
                }
            }
            double varEps = sq / m + eps;
            double s = Math.abs(w == null ? 1 : w[c]) / Math.sqrt(varEps);
            double meanError = RoundingBound.gamma(m) * abs / m;
            double varError = RoundingBound.gamma(m + 4) * wide / m;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < plane; p++) {
                    int at = (i * channels + c) * plane + p;
                    magnitude[at] += s * (meanError + Math.abs(x[at] - mu) * varError / (2 * varEps));
                }
            }
        }
        return magnitude;
    }
}
