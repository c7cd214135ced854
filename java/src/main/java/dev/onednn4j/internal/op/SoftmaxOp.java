package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;

/** Softmax along one axis ({@code torch.softmax}), on oneDNN's softmax primitive (maximum subtracted first). */
public final class SoftmaxOp extends SingleInputOp {
    private final int axis;

    public SoftmaxOp(long[] shape, int axis) {
        super(shape, shape);
        this.axis = axis;
    }

    @Override
    public String name() {
        return "softmax axis " + axis;
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        MemoryDesc out = dst != null ? dst : srcs[0];
        return PrimitiveDesc.softmax(Engine.cpu(), srcs[0], out, axis, attr);
    }

    @Override
    public double[] exact(double[][] inputs) {
        double[] x = inputs[0];
        int n = (int) in[axis];
        int inner = 1;
        for (int d = axis + 1; d < in.length; d++) {
            inner *= (int) in[d];
        }
        int outer = x.length / Math.max(n * inner, 1);
        double[] r = new double[x.length];
        // [outer, n, inner]: softmax over n
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * n * inner + i;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    max = Math.max(max, x[base + k * inner]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    r[base + k * inner] = Math.exp(x[base + k * inner] - max);
                    sum += r[base + k * inner];
                }
                for (int k = 0; k < n; k++) {
                    r[base + k * inner] /= sum;
                }
            }
        }
        return r;
    }
}
