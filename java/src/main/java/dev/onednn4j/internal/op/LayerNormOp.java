package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;

/**
 * Layer normalization over the last dimension ({@code torch.nn.LayerNorm(C)}), with per-element scale and shift,
 * on oneDNN's layer normalization primitive.
 */
public final class LayerNormOp extends SingleInputOp {
    private final float eps;
    private final TensorImpl scale;
    private final TensorImpl shift;

    /**
     * @param scale float32 of the last dimension's size
     * @param shift float32 of the last dimension's size, or null for none (zeros)
     */
    public LayerNormOp(long[] shape, float eps, TensorImpl scale, TensorImpl shift) {
        super(shape, shape);
        this.eps = eps;
        this.scale = scale;
        this.shift = shift;
    }

    @Override
    public String name() {
        return "layer_norm";
    }

    @Override
    public List<Operation.Constant> constants() {
        long[] c = {in[in.length - 1]};
        List<Operation.Constant> out = new ArrayList<>();
        out.add(new Operation.Constant(Arg.SCALE, c, scale, null));
        out.add(
                shift != null
                        ? new Operation.Constant(Arg.SHIFT, c, shift, null)
                        : new Operation.Constant(Arg.SHIFT, c, null, new float[(int) c[0]]));
        return out;
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return PrimitiveDesc.layerNormalization(Engine.cpu(), srcs[0], dst != null ? dst : srcs[0], eps, true, attr);
    }

    @Override
    public double[] exact(double[][] inputs) {
        double[] x = inputs[0];
        int n = (int) in[in.length - 1];
        double[] g = scale.toDoubleArray();
        double[] b = shift == null ? new double[n] : shift.toDoubleArray();
        double[] r = new double[x.length];
        // [rows, n]: each row normalised over n
        for (int o = 0; o < x.length / Math.max(n, 1); o++) {
            double mean = 0;
            for (int k = 0; k < n; k++) {
                mean += x[o * n + k];
            }
            mean /= n;
            double var = 0;
            for (int k = 0; k < n; k++) {
                double d = x[o * n + k] - mean;
                var += d * d;
            }
            double inv = 1 / Math.sqrt(var / n + eps);
            for (int k = 0; k < n; k++) {
                r[o * n + k] = (x[o * n + k] - mean) * inv * g[k] + b[k];
            }
        }
        return r;
    }
}
