package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.Arrays;
import java.util.List;

/**
 * A batched matrix product of two computed operands, {@code [*batch, m, k] x [*batch, k, n] -> [*batch, m, n]}, with
 * the batch dimensions broadcast (as {@code torch.matmul} of 2-D or higher operands), on oneDNN's matmul. Each
 * element is a sum of k products: the bound is {@code gamma(k) * sum |a * b|}.
 */
public final class MatMulOp implements GraphOp {
    private final long[] a;
    private final long[] b;
    private final long[] out;

    /** Operands of rank 2 or more; {@code a}'s last dimension is {@code b}'s second last. */
    public MatMulOp(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        this.a = pad(a, r);
        this.b = pad(b, r);
        long[] batch = Nd.broadcast(Arrays.copyOf(this.a, r - 2), Arrays.copyOf(this.b, r - 2), "matmul");
        this.out = Arrays.copyOf(batch, r);
        out[r - 2] = this.a[r - 2];
        out[r - 1] = this.b[r - 1];
    }

    private static long[] pad(long[] s, int r) {
        long[] p = new long[r];
        Arrays.fill(p, 1);
        System.arraycopy(s, 0, p, r - s.length, s.length);
        return p;
    }

    @Override
    public String name() {
        return "matmul";
    }

    @Override
    public List<long[]> inputShapes() {
        return List.of(a, b);
    }

    @Override
    public long[] outputShape() {
        return out.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return i == 0 ? Arg.SRC : Arg.WEIGHTS;
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return GraphOp.toDst(dst, out, dt, d -> PrimitiveDesc.matmul(Engine.cpu(), srcs[0], srcs[1], null, d, attr));
    }

    @Override
    public double[] exact(double[][] in) {
        int r = out.length;
        int m = (int) out[r - 2];
        int k = (int) a[r - 1];
        int n = (int) out[r - 1];
        long[] batch = Arrays.copyOf(out, r - 2);
        int[] ia = Nd.broadcastIndex(Arrays.copyOf(a, r - 2), batch);
        int[] ib = Nd.broadcastIndex(Arrays.copyOf(b, r - 2), batch);
        double[] y = new double[ia.length * m * n];
        // [*batch, m, k] x [*batch, k, n] -> [*batch, m, n]
        for (int t = 0; t < ia.length; t++) {
            int ao = ia[t] * m * k;
            int bo = ib[t] * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        sum += in[0][ao + i * k + p] * in[1][bo + p * n + j];
                    }
                    y[(t * m + i) * n + j] = sum;
                }
            }
        }
        return y;
    }
}
