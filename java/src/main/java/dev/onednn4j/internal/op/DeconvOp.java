package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.ArrayList;
import java.util.List;

/**
 * A 2-D transposed convolution ({@code ConvTranspose2d}, ONNX's ConvTranspose) on oneDNN's deconvolution, weights
 * given as PyTorch holds them, (C_in, C_out / groups, kH, kW). Each output is a sum of at most C_in / groups * kH * kW
 * products plus the bias.
 */
public final class DeconvOp extends SingleInputOp {
    private final int groups;
    private final int kh;
    private final int kw;
    private final long[] stride;
    private final long[] dilation; // PyTorch's: 1 = none
    private final long[] padL;
    private final long[] padR;
    private final float[] weights; // (G, OC/G, IC/G, kH, kW): oneDNN's grouped order
    private final float[] pytorchWeights;
    private final float[] bias;

    /**
     * @param in      (N, C_in, H, W)
     * @param weight  (C_in, C_out / groups, kH, kW), row-major
     * @param bias    C_out values, or null
     * @param stride  (sH, sW)
     * @param dilation (dH, dW), 1 for none
     * @param padL    (top, left)
     * @param padR    (bottom, right)
     * @param outPad  PyTorch's output_padding, rows and columns added at the bottom and right (the reference loops
     *                only: oneDNN is given none)
     */
    public DeconvOp(
            long[] in,
            float[] weight,
            int outPerGroup,
            int kh,
            int kw,
            int groups,
            float[] bias,
            long[] stride,
            long[] dilation,
            long[] padL,
            long[] padR,
            long[] outPad) {
        super(in, new long[] {
            in[0],
            (long) outPerGroup * groups,
            (in[2] - 1) * stride[0] - padL[0] - padR[0] + dilation[0] * (kh - 1) + 1 + outPad[0],
            (in[3] - 1) * stride[1] - padL[1] - padR[1] + dilation[1] * (kw - 1) + 1 + outPad[1]
        });
        this.groups = groups;
        this.kh = kh;
        this.kw = kw;
        this.stride = stride.clone();
        this.dilation = dilation.clone();
        this.padL = padL.clone();
        this.padR = padR.clone();
        this.bias = bias;
        this.pytorchWeights = weight.clone();
        int cin = (int) in[1];
        int icg = cin / groups;
        int plane = kh * kw;
        this.weights = new float[weight.length];
        // (C_in, OC/G, kH, kW) -> (G, OC/G, IC/G, kH, kW)
        for (int g = 0; g < groups; g++) {
            for (int oc = 0; oc < outPerGroup; oc++) {
                for (int ic = 0; ic < icg; ic++) {
                    System.arraycopy(
                            weight,
                            ((g * icg + ic) * outPerGroup + oc) * plane,
                            weights,
                            ((g * outPerGroup + oc) * icg + ic) * plane,
                            plane);
                }
            }
        }
    }

    private long[] weightDims() {
        return new long[] {groups, out[1] / groups, in[1] / groups, kh, kw};
    }

    @Override
    public String name() {
        return "conv_transpose2d";
    }

    @Override
    public List<Operation.Constant> constants() {
        List<Operation.Constant> c = new ArrayList<>();
        c.add(new Operation.Constant(Arg.WEIGHTS, weightDims(), null, weights));
        if (bias != null) {
            c.add(new Operation.Constant(Arg.BIAS, new long[] {out[1]}, null, bias));
        }
        return c;
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        List<MemoryDesc> made = new ArrayList<>();
        try {
            MemoryDesc w = MemoryDesc.any(weightDims(), dt);
            made.add(w);
            MemoryDesc b = null;
            if (bias != null) {
                b = MemoryDesc.strided(new long[] {out[1]}, DataType.F32, new long[] {1});
                made.add(b);
            }
            MemoryDesc d = dst;
            if (d == null) {
                d = MemoryDesc.any(out, dt);
                made.add(d);
            }
            long[] dil = {dilation[0] - 1, dilation[1] - 1};
            return PrimitiveDesc.deconvolution(Engine.cpu(), srcs[0], w, b, d, stride, dil, padL, padR, attr);
        } finally {
            made.forEach(MemoryDesc::close);
        }
    }

    @Override
    public double[] exact(double[][] inputs) {
        double[] x = inputs[0];
        int n = (int) in[0];
        int ci = (int) in[1];
        int h = (int) in[2];
        int w = (int) in[3];
        int co = (int) out[1];
        int oh = (int) out[2];
        int ow = (int) out[3];
        int cig = ci / groups;
        int cog = co / groups;
        double[] r = new double[Nd.numel(out)];
        // [N, C_in, H, W] scattered through [C_in, C_out/g, kH, kW] -> [N, C_out, OH, OW]
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < ci; c++) {
                int g = c / cig;
                for (int iy = 0; iy < h; iy++) {
                    for (int ix = 0; ix < w; ix++) {
                        double v = x[((b * ci + c) * h + iy) * w + ix];
                        for (int oc = 0; oc < cog; oc++) {
                            for (int ky = 0; ky < kh; ky++) {
                                long oy = iy * stride[0] - padL[0] + ky * dilation[0];
                                for (int kx = 0; kx < kw && oy >= 0 && oy < oh; kx++) {
                                    long ox = ix * stride[1] - padL[1] + kx * dilation[1];
                                    if (ox >= 0 && ox < ow) {
                                        r[(int) (((long) (b * co + g * cog + oc) * oh + oy) * ow + ox)] +=
                                                v * pytorchWeights[((c * cog + oc) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (bias != null) {
            int plane = oh * ow;
            for (int i = 0; i < r.length; i++) {
                r[i] += bias[(i / plane) % co];
            }
        }
        return r;
    }
}
