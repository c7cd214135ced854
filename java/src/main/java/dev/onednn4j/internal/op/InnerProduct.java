package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A fully connected layer, {@code y = x W^T + b}, on M rows of K features (the input's leading dimensions
 * flattened into M, row-major), resolved for one M. Tensors: input, output.
 *
 * <p>oneDNN: the inner product primitive with the weights in the layout it chooses, reordered once.
 */
public final class InnerProduct implements Operation {
    private final long rows;
    private final int in;
    private final int out;
    private final long[] outputShape;
    private final TensorImpl weight;
    private final TensorImpl bias;

    /**
     * @param outputShape the caller's output shape (the input's leading dims, then {@code out})
     * @param bias        null without
     */
    public InnerProduct(long rows, int in, int out, long[] outputShape, TensorImpl weight, TensorImpl bias) {
        this.rows = rows;
        this.in = in;
        this.out = out;
        this.outputShape = outputShape.clone();
        this.weight = weight;
        this.bias = bias;
    }

    @Override
    public long[] outputShape() {
        return outputShape.clone();
    }

    @Override
    public Plan plan(TensorImpl... t) {
        Plan.Builder b = Plan.builder(String.format(
                Locale.ROOT, "linear [%d, %d] -> [%d, %d]%s", rows, in, rows, out, bias == null ? ", no bias" : ""));
        MemoryDesc src = b.input(Arg.SRC, 0, Layouts.of(new long[] {rows, in}, Format.CONTIGUOUS));
        MemoryDesc dst = b.output(Arg.DST, 1, Layouts.of(new long[] {rows, out}, Format.CONTIGUOUS));
        long[] wDims = {out, in};
        b.constant(Arg.WEIGHTS, weight, Layouts.of(wDims, Format.CONTIGUOUS));
        MemoryDesc biasMd =
                bias == null ? null : b.constant(Arg.BIAS, bias, Layouts.of(new long[] {out}, Format.CONTIGUOUS));
        MemoryDesc wAny = b.temporary(Layouts.any(wDims));
        return b.build(attr -> PrimitiveDesc.innerProduct(Engine.cpu(), src, wAny, biasMd, dst, attr));
    }

    /** {@code src} is the (rows, in) input; weights in the layout oneDNN picks, in {@code dt}. */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        try (MemoryDesc w = MemoryDesc.any(new long[] {out, in}, dt);
                MemoryDesc b = bias == null ? null : Layouts.of(new long[] {out}, Format.CONTIGUOUS);
                MemoryDesc d = dst == null ? MemoryDesc.any(new long[] {rows, out}, dt) : null) {
            return PrimitiveDesc.innerProduct(Engine.cpu(), src, w, b, dst == null ? d : dst, attr);
        }
    }

    @Override
    public List<Constant> constants() {
        List<Constant> c = new ArrayList<>();
        c.add(new Constant(Arg.WEIGHTS, new long[] {out, in}, weight, null));
        if (bias != null) {
            c.add(new Constant(Arg.BIAS, new long[] {out}, bias, null));
        }
        return c;
    }

    @Override
    public boolean fusesPostOps() {
        return true;
    }

    @Override
    public double[] exact(float[] x) {
        return compute(x, null);
    }

    /**
     * The layer written plainly, in double.
     *
     * @param magnitude if not null, receives {@code sum|x * w| + |b|} per output
     */
    public double[] compute(float[] x, double[] magnitude) {
        float[] w = weight.toFloatArray();
        float[] bb = bias == null ? null : bias.toFloatArray();
        int m = Math.toIntExact(rows);
        double[] y = new double[m * out];
        // [M, K] x [OUT, K]^T -> [M, OUT]
        for (int r = 0; r < m; r++) {
            for (int o = 0; o < out; o++) {
                double sum = bb == null ? 0 : bb[o];
                double abs = Math.abs(sum);
                for (int k = 0; k < in; k++) {
                    double term = (double) x[r * in + k] * w[o * in + k];
                    sum += term;
                    abs += Math.abs(term);
                }
                y[r * out + o] = sum;
                if (magnitude != null) {
                    magnitude[r * out + o] = abs;
                }
            }
        }
        return y;
    }

    /** Per element {@code gamma(K + 1) * (sum|x * w| + |b|)}: K products and the bias, summed in any order. */
    @Override
    public double[] bound(float[] x) {
        double[] magnitude = new double[Math.toIntExact(rows) * out];
        compute(x, magnitude);
        double gamma = RoundingBound.gamma(in + 1L);
        for (int i = 0; i < magnitude.length; i++) {
            magnitude[i] *= gamma;
        }
        return magnitude;
    }
}
