package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.Arrays;

/**
 * Bilinear resizing of the last two dimensions with half-pixel centres ({@code F.interpolate(mode="bilinear",
 * align_corners=False)}), on oneDNN's linear resampling.
 */
public final class ResampleOp extends SingleInputOp {

    /** (N, C, H, W) to (N, C, OH, OW). */
    public ResampleOp(long[] in, long[] out) {
        super(in, out);
    }

    @Override
    public String name() {
        return "resample bilinear " + Arrays.toString(in) + " -> " + Arrays.toString(out);
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return GraphOp.toDst(
                dst,
                out,
                dt,
                d -> PrimitiveDesc.resampling(Engine.cpu(), Algorithm.RESAMPLING_LINEAR, null, srcs[0], d, attr));
    }

    @Override
    public double[] exact(double[][] inputs) {
        int r = in.length;
        int planes = Nd.numel(Arrays.copyOf(in, r - 2));
        int ih = (int) in[r - 2];
        int iw = (int) in[r - 1];
        int oh = (int) out[r - 2];
        int ow = (int) out[r - 1];
        double[] x = inputs[0];
        double[] res = new double[planes * oh * ow];
        // [planes, IH, IW] -> [planes, OH, OW], source coordinate (o + 1/2) * in / out - 1/2, clamped
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < oh; y++) {
                double sy = Math.clamp((y + 0.5) * ih / oh - 0.5, 0, ih - 1);
                int y0 = (int) Math.floor(sy);
                int y1 = Math.min(y0 + 1, ih - 1);
                double fy = sy - y0;
                for (int xx = 0; xx < ow; xx++) {
                    double sx = Math.clamp((xx + 0.5) * iw / ow - 0.5, 0, iw - 1);
                    int x0 = (int) Math.floor(sx);
                    int x1 = Math.min(x0 + 1, iw - 1);
                    double fx = sx - x0;
                    int base = p * ih * iw;
                    res[(p * oh + y) * ow + xx] =
                            (1 - fy) * ((1 - fx) * x[base + y0 * iw + x0] + fx * x[base + y0 * iw + x1])
                                    + fy * ((1 - fx) * x[base + y1 * iw + x0] + fx * x[base + y1 * iw + x1]);
                }
            }
        }
        return res;
    }
}
