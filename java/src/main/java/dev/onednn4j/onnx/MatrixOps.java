package dev.onednn4j.onnx;

import dev.onednn4j.internal.op.LayerNormOp;
import dev.onednn4j.internal.op.MatMulOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.ReduceOp;
import dev.onednn4j.internal.op.SoftmaxOp;
import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.Linear;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.onnx.Resolution.Val;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ONNX normalisations, reductions and matrix products: Softmax, LayerNormalization, Reduce*, MatMul, Gemm.
 */
final class MatrixOps {
    private MatrixOps() {}

    /** [outer, n, inner] around {@code axis}. */
    static long[] around(long[] s, int from, int to) {
        long outer = 1;
        long n = 1;
        long inner = 1;
        for (int d = 0; d < s.length; d++) {
            if (d < from) {
                outer *= s[d];
            } else if (d < to) {
                n *= s[d];
            } else {
                inner *= s[d];
            }
        }
        return new long[] {outer, n, inner};
    }

    /**
     * Softmax: along {@code axis} from opset 13, over everything from {@code axis} on before it (the input seen as
     * (outer, rest)), on oneDNN's softmax.
     */
    static void softmax(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", c.opset >= 13 ? -1 : 1), s.length, c.op());
        long[] g = around(s, axis, s.length);
        SoftmaxOp op = c.opset >= 13 ? new SoftmaxOp(s, axis) : new SoftmaxOp(new long[] {g[0], g[1]}, 1);
        c.graph(op, new int[] {0}, 0, s);
    }

    /**
     * Layer normalization over the dimensions from {@code axis} on: the input seen as (outer, n), normalised over
     * n with the scale and bias broadcast to those dimensions and flattened, on oneDNN's layer normalization.
     */
    static void layerNorm(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", -1), s.length, c.op());
        float eps = c.f("epsilon", 1e-5f);
        long[] g = around(s, axis, s.length);
        long[] norm = Arrays.copyOfRange(s, axis, s.length);
        for (int i = 1; i < c.node.outputs().size(); i++) {
            if (!c.node.outputs().get(i).isEmpty()) {
                throw c.error("its mean and inverse standard deviation outputs (training only) are not supported");
            }
        }
        Tensor scale = flattened(c, 1, "scale", norm);
        Tensor shift = c.in(2) == null ? null : flattened(c, 2, "bias", norm);
        c.graph(
                new LayerNormOp(new long[] {g[0], g[1]}, eps, OnnxOps.impl(scale), OnnxOps.impl(shift)),
                new int[] {0},
                0,
                s);
    }

    /** Constant input {@code i} broadcast to {@code shape} and flattened, as a tensor the resolution owns. */
    static Tensor flattened(Ctx c, int i, String what, long[] shape) {
        double[] v = c.constant(i, what);
        Nd.broadcast(c.shape(i), shape, c.op());
        int[] idx = Nd.broadcastIndex(c.shape(i), shape);
        float[] f = new float[idx.length];
        for (int k = 0; k < f.length; k++) {
            f[k] = (float) v[idx[k]];
        }
        Tensor t = Tensor.of(f, f.length);
        c.own(t);
        return t;
    }

    static void reduce(Ctx c, String kind) {
        long[] s = c.shape(0);
        long[] axes = c.in(1) != null ? Nd.longs(c.constant(1, "axes")) : c.ints("axes", null);
        boolean keep = c.i("keepdims", 1) == 1;
        boolean[] reduced = new boolean[s.length];
        if (axes == null || axes.length == 0) {
            if (c.i("noop_with_empty_axes", 0) == 1) {
                c.view(s);
                return;
            }
            Arrays.fill(reduced, true);
        } else {
            for (long a : axes) {
                reduced[Nd.axis(a, s.length, c.op())] = true;
            }
        }
        List<Long> outList = new ArrayList<>();
        long[] kept = new long[s.length];
        for (int d = 0; d < s.length; d++) {
            kept[d] = reduced[d] ? 1 : s[d];
            if (!reduced[d] || keep) {
                outList.add(kept[d]);
            }
        }
        long[] out = outList.stream().mapToLong(Long::longValue).toArray();
        if (!c.need(0).isConst() && Arrays.equals(kept, s)) {
            c.view(out); // nothing reduced (size-1 dimensions only)
            return;
        }
        ReduceOp.Kind k = switch (kind) {
            case "mean" -> ReduceOp.Kind.MEAN;
            case "sum" -> ReduceOp.Kind.SUM;
            case "max" -> ReduceOp.Kind.MAX;
            default -> ReduceOp.Kind.MIN;
        };
        if (!c.need(0).isConst() && Nd.numel(s) == 0) {
            throw c.error("reducing an empty tensor %s is not supported", Arrays.toString(s));
        }
        if (!c.need(0).isConst()
                && k == ReduceOp.Kind.MEAN
                && s.length == 4
                && !reduced[0]
                && !reduced[1]
                && reduced[2]
                && reduced[3]) {
            // x.mean((2, 3)): a global average pooling (oneDNN's reduction has only its reference kernel for NHWC)
            c.layer(new AdaptiveAvgPool2d(1, 1), out, s);
            return;
        }
        c.graph(new ReduceOp(k, s, kept), new int[] {0}, 0, out);
    }

    static void matmul(Ctx c) {
        long[] a = c.shape(0);
        long[] b = c.shape(1);
        if (a.length == 0 || b.length == 0) {
            throw c.error(
                    "both arguments to matmul need to be at least 1D, but they are %dD and %dD", a.length, b.length);
        }
        if (!c.need(0).isConst() && c.need(1).isConst() && b.length == 2 && a.length >= 2) {
            if (a[a.length - 1] != b[0]) {
                throw c.error(
                        "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)",
                        Nd.numel(a) / a[a.length - 1], a[a.length - 1], b[0], b[1]);
            }
            linear(c, (int) b[0], (int) b[1], Nd.transpose(c.constant(1, "weight"), b, new int[] {1, 0}), null, a);
            return;
        }
        if (!c.need(0).isConst() && !c.need(1).isConst() && a.length >= 2 && b.length >= 2) {
            if (a[a.length - 1] != b[b.length - 2]) {
                throw c.error(
                        "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)",
                        a[a.length - 2], a[a.length - 1], b[b.length - 2], b[b.length - 1]);
            }
            c.graph(new MatMulOp(a, b), 0, 1);
            return;
        }
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        long m = a2[a2.length - 2];
        long k = a2[a2.length - 1];
        long n = b2[b2.length - 1];
        if (b2[b2.length - 2] != k) {
            throw c.error("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)", m, k, b2[b2.length - 2], n);
        }
        long[] batch = Nd.broadcast(Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2), c.op());
        List<Long> out = new ArrayList<>();
        for (long d : batch) {
            out.add(d);
        }
        if (a.length > 1) {
            out.add(m);
        }
        if (b.length > 1) {
            out.add(n);
        }
        long[] outShape = out.stream().mapToLong(Long::longValue).toArray();
        MatMulOp op = new MatMulOp(a2, b2); // 1-D operands as (1, k) and (k, 1), the result squeezed
        if (c.allConst() || (!c.need(0).isConst() && !c.need(1).isConst())) {
            c.graph(op, new int[] {0, 1}, 0, outShape);
            return;
        }
        c.java(outShape, in -> new double[][] {op.exact(in)}); // one constant operand that is not a weight matrix
    }

    /** {@link Fusions#MATMUL_BIAS}: x (*, k) times a constant (k, n) plus a constant bias (n): a linear layer. */
    static void matmulBias(Ctx c) {
        long[] a = c.shape(0);
        long[] b = c.shape(1);
        if (a.length < 2 || a[a.length - 1] != b[0]) {
            throw c.error(
                    "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)",
                    Nd.numel(a) / Math.max(a[a.length - 1], 1), a[a.length - 1], b[0], b[1]);
        }
        if (c.need(0).isConst()) {
            throw c.error("a constant input to a linear layer is not supported");
        }
        linear(
                c,
                (int) b[0],
                (int) b[1],
                Nd.transpose(c.constant(1, "weight"), b, new int[] {1, 0}),
                c.constant(2, "bias"),
                a);
    }

    /** A Linear layer with {@code weight} ([out, in], row-major) and optional bias on input of {@code shape}. */
    static void linear(Ctx c, int inF, int outF, double[] weight, double[] bias, long[] shape) {
        Linear l = Linear.builder(inF, outF).bias(bias != null).build();
        try {
            l.weight().copyFrom(Nd.floats(weight));
            if (bias != null) {
                l.bias().copyFrom(Nd.floats(bias));
            }
        } catch (RuntimeException | Error e) {
            l.close();
            throw e;
        }
        long[] out = shape.clone();
        out[out.length - 1] = outF;
        // (*, in) -> (rows, in) -> (rows, out) -> (*, out): the inner product takes two dimensions
        c.layer(l, out, shape.length > 2 ? new long[] {Nd.numel(shape) / inF, inF} : null);
    }

    static void gemm(Ctx c) {
        long[] a = c.shape(0);
        long[] b = c.shape(1);
        if (a.length != 2 || b.length != 2) {
            throw c.error("Gemm takes 2-D A and B, got %s and %s", Arrays.toString(a), Arrays.toString(b));
        }
        boolean ta = c.i("transA", 0) == 1;
        boolean tb = c.i("transB", 0) == 1;
        double alpha = c.f("alpha", 1);
        double beta = c.f("beta", 1);
        long m = ta ? a[1] : a[0];
        long k = ta ? a[0] : a[1];
        long kb = tb ? b[1] : b[0];
        long n = tb ? b[0] : b[1];
        if (k != kb) {
            throw c.error("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)", m, k, kb, n);
        }
        long[] out = {m, n};
        Val cv = c.in(2);
        long[] cs = cv == null ? new long[0] : cv.shape();
        Nd.broadcast(cs, out, c.op());
        if (!ta
                && !c.need(0).isConst()
                && c.need(1).isConst()
                && (cv == null || cv.isConst())
                && (cv == null || Nd.numel(cs) == n || Nd.numel(cs) == 1)
                && (cs.length < 2 || cs[0] == 1)) {
            double[] w = c.constant(1, "B");
            double[] wt = tb ? w.clone() : Nd.transpose(w, b, new int[] {1, 0}); // [n, k]
            for (int i = 0; i < wt.length; i++) {
                wt[i] *= alpha;
            }
            double[] bias = null;
            if (cv != null) {
                double[] cvals = cv.values();
                bias = new double[(int) n];
                for (int i = 0; i < n; i++) {
                    bias[i] = beta * cvals[cvals.length == 1 ? 0 : i];
                }
            }
            linear(c, (int) k, (int) n, wt, bias, a);
            return;
        }
        int mm = (int) m;
        int kk = (int) k;
        int nn = (int) n;
        long[] cshape = cs;
        c.java(out, in -> {
            double[] r = new double[mm * nn];
            int[] ci = in.length > 2 && in[2] != null ? Nd.broadcastIndex(cshape, out) : null;
            // alpha * A'[m, k] x B'[k, n] + beta * C -> [m, n]
            for (int i = 0; i < mm; i++) {
                for (int j = 0; j < nn; j++) {
                    double sum = 0;
                    for (int p = 0; p < kk; p++) {
                        double x = ta ? in[0][p * mm + i] : in[0][i * kk + p];
                        double y = tb ? in[1][j * kk + p] : in[1][p * nn + j];
                        sum += x * y;
                    }
                    r[i * nn + j] = alpha * sum + (ci == null ? 0 : beta * in[2][ci[i * nn + j]]);
                }
            }
            return new double[][] {r};
        });
    }
}
