package dev.onednn4j.internal.reference;

import dev.onednn4j.internal.ConvGeometry;
import dev.onednn4j.internal.ConvolutionKernel;
import dev.onednn4j.nn.PaddingMode;
import dev.onednn4j.tensor.Tensor;

/**
 * The convolution written to be read, as the seed's loops: for each image, output channel, output row
 * and column, sum the input patch times the kernel, plus the bias. Sums in double. Every option is
 * handled by where it reads the input: stride and dilation move the patch, padding reads zeros (or, for
 * the other padding modes, the reflected, replicated or wrapped input), groups restrict the channels.
 */
public final class ReferenceConvolution implements ConvolutionKernel {

    @Override
    public void forward(ConvGeometry g, Tensor x, Tensor weight, Tensor bias, Tensor out) {
        double[] y = compute(g, x.toFloatArray(), weight.toFloatArray(), bias == null ? null : bias.toFloatArray(),
                null);
        float[] f = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            f[i] = (float) y[i];
        }
        out.copyFrom(f);
    }

    /**
     * The convolution in double.
     *
     * @param x      input (N, C, H, W), row-major
     * @param w      weights (outC, C/groups, kH, kW), row-major
     * @param b      bias (outC), or null
     * @param absSum if not null, receives for each output the sum of |weight * input| over its terms (bias
     *               excluded): the scale of the rounding error bound
     * @return the output (N, outC, outH, outW), row-major
     */
    public static double[] compute(ConvGeometry g, float[] x, float[] w, float[] b, double[] absSum) {
        int outH = g.outH();
        int outW = g.outW();
        double[] y = new double[g.n() * g.outC() * outH * outW];
        double[] magnitude = absSum == null ? null : new double[1];
        int o = 0;
        for (int n = 0; n < g.n(); n++) {
            for (int oc = 0; oc < g.outC(); oc++) {
                for (int oh = 0; oh < outH; oh++) {
                    for (int ow = 0; ow < outW; ow++) {
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
     * @param magnitude if not null, {@code magnitude[0]} receives the sum of |weight * input| over the terms
     */
    public static double element(ConvGeometry g, float[] x, float[] w, float[] b, int n, int oc, int oh, int ow,
                                 double[] magnitude) {
        int inPerGroup = g.c() / g.groups();
        int group = oc / (g.outC() / g.groups());
        PaddingMode mode = g.paddingMode();
        double sum = 0;
        double abs = 0;
        for (int i = 0; i < inPerGroup; i++) {
            int ic = group * inPerGroup + i;
            for (int kh = 0; kh < g.kH(); kh++) {
                int ih = mode.sourceIndex(oh * g.strideH() - g.padTop() + kh * g.dilationH(), g.h());
                if (ih < 0) {
                    continue; // a zero of the padding
                }
                for (int kw = 0; kw < g.kW(); kw++) {
                    int iw = mode.sourceIndex(ow * g.strideW() - g.padLeft() + kw * g.dilationW(), g.w());
                    if (iw < 0) {
                        continue;
                    }
                    double term = (double) x[((n * g.c() + ic) * g.h() + ih) * g.w() + iw]
                            * w[((oc * inPerGroup + i) * g.kH() + kh) * g.kW() + kw];
                    sum += term;
                    abs += Math.abs(term);
                }
            }
        }
        if (magnitude != null) {
            magnitude[0] = abs;
        }
        return b == null ? sum : sum + b[oc];
    }

    @Override
    public void close() {
    }
}
