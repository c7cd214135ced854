package dev.onednn4j.onnx;

import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.op.BinaryOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.UnaryOp;
import dev.onednn4j.nn.Hardsigmoid;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.ReLU6;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.onnx.Resolution.Val;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * The element-wise ONNX operations: broadcasting arithmetic and comparisons, the activations (library layers where
 * one exists), unary functions and casts.
 */
final class ElementwiseOps {
    private ElementwiseOps() {}

    /**
     * Add, Sub, Mul, Div, Min, Max of two operands: folded when both are constants (integer division truncates);
     * two computed operands of one shape added with the library's {@code add}; a scalar constant operand as
     * {@code alpha * x + beta} (or {@code c / x} as {@code c * x^-1}); otherwise oneDNN's binary primitive, the
     * operand of the output's shape first (swapped where the operation commutes); a plain Java loop where neither
     * operand has the output's shape.
     */
    static void arith(Ctx c, BinaryOp.Kind kind) {
        Val a = c.need(0);
        Val b = c.need(1);
        if (a.isConst() && b.isConst()) {
            boolean integer = !OnnxGraph.isFloat(a.type());
            binary(c, integer ? (x, y) -> integerOp(kind::apply, x, y) : kind::apply, -1, a.type());
            return;
        }
        if (kind == BinaryOp.Kind.ADD && !a.isConst() && !b.isConst() && Arrays.equals(a.shape(), b.shape())) {
            c.add();
            return;
        }
        long[] out = Nd.broadcast(a.shape(), b.shape(), c.op());
        boolean commutes = kind == BinaryOp.Kind.ADD
                || kind == BinaryOp.Kind.MUL
                || kind == BinaryOp.Kind.MIN
                || kind == BinaryOp.Kind.MAX;
        if (b.isConst() && Nd.numel(b.shape()) == 1 && Arrays.equals(out, a.shape()) && arithmetic(kind)) {
            float v = (float) b.values()[0];
            float[] ab = switch (kind) {
                case ADD -> new float[] {1, v};
                case SUB -> new float[] {1, -v};
                case MUL -> new float[] {v, 0};
                default -> new float[] {1 / v, 0};
            };
            c.graph(new UnaryOp(UnaryOp.Kind.LINEAR, ab[0], ab[1], a.shape()), 0);
            return;
        }
        if (a.isConst() && Nd.numel(a.shape()) == 1 && Arrays.equals(out, b.shape()) && arithmetic(kind)) {
            float v = (float) a.values()[0];
            UnaryOp u = switch (kind) {
                case ADD -> new UnaryOp(UnaryOp.Kind.LINEAR, 1, v, b.shape());
                case SUB -> new UnaryOp(UnaryOp.Kind.LINEAR, -1, v, b.shape());
                case MUL -> new UnaryOp(UnaryOp.Kind.LINEAR, v, 0, b.shape());
                default -> new UnaryOp(UnaryOp.Kind.POW, v, -1, b.shape());
            };
            c.graph(u, 1);
            return;
        }
        if (!a.isConst() && Arrays.equals(out, a.shape())) {
            Tensor k = b.isConst() ? c.constantTensor(1) : null;
            c.graph(
                    new BinaryOp(kind, a.shape(), b.shape(), OnnxOps.impl(k)),
                    k != null ? new int[] {0} : new int[] {0, 1},
                    0,
                    null);
            return;
        }
        if (commutes && !b.isConst() && Arrays.equals(out, b.shape())) {
            Tensor k = a.isConst() ? c.constantTensor(0) : null;
            c.graph(
                    new BinaryOp(kind, b.shape(), a.shape(), OnnxOps.impl(k)),
                    k != null ? new int[] {1} : new int[] {1, 0},
                    0,
                    null);
            return;
        }
        binary(c, kind::apply, -1, a.type());
    }

    static boolean arithmetic(BinaryOp.Kind kind) {
        return kind == BinaryOp.Kind.ADD
                || kind == BinaryOp.Kind.SUB
                || kind == BinaryOp.Kind.MUL
                || kind == BinaryOp.Kind.DIV;
    }

    static void pow(Ctx c) {
        Val e = c.need(1);
        if (!c.need(0).isConst() && e.isConst() && Nd.numel(e.shape()) == 1) {
            float p = (float) e.values()[0];
            c.graph(new UnaryOp(UnaryOp.Kind.POW, 1, p, c.shape(0)), 0);
            return;
        }
        binary(c, Math::pow, OnnxGraph.FLOAT, c.need(0).type());
    }

    /** A function on oneDNN's eltwise primitive, folded on a constant. */
    static void eltwise(Ctx c, UnaryOp.Kind kind, float alpha, float beta, DoubleUnaryOperator ref, int constType) {
        if (c.need(0).isConst()) {
            unary(c, ref, constType);
            return;
        }
        c.graph(new UnaryOp(kind, alpha, beta, c.shape(0)), 0);
    }

    static double integerOp(DoubleBinaryOperator f, double x, double y) {
        double r = f.applyAsDouble(x, y);
        return r < 0 ? Math.ceil(r) : Math.floor(r); // integer division truncates, as ONNX's int64 Div
    }

    /**
     * A broadcasting binary operation; {@code type} is the output's type, or -1 for the inputs' (float at run
     * time).
     */
    static void binary(Ctx c, DoubleBinaryOperator f, int type, int constType) {
        long[] sa = c.shape(0);
        long[] sb = c.shape(1);
        long[] out = Nd.broadcast(sa, sb, c.op());
        int t = type >= 0 ? type : c.allConst() ? constType : OnnxGraph.FLOAT;
        if (c.allConst() && type < 0) {
            t = constType;
        }
        c.java(new long[][] {out}, new int[] {c.allConst() ? (type >= 0 ? type : constType) : t}, in -> {
            int[] ia = Nd.broadcastIndex(sa, out);
            int[] ib = Nd.broadcastIndex(sb, out);
            double[] r = new double[ia.length];
            // [*a] (op) [*b] -> [*out]
            for (int i = 0; i < r.length; i++) {
                r[i] = f.applyAsDouble(in[0][ia[i]], in[1][ib[i]]);
            }
            return new double[][] {r};
        });
    }

    static void variadic(Ctx c, DoubleBinaryOperator f) {
        long[] out = c.shape(0);
        for (int i = 1; i < c.inputs(); i++) {
            out = Nd.broadcast(out, c.shape(i), c.op());
        }
        long[] o = out;
        int n = c.inputs();
        c.java(new long[][] {o}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = null;
            for (int k = 0; k < n; k++) {
                int[] idx = Nd.broadcastIndex(c.shape(k), o);
                if (r == null) {
                    r = new double[idx.length];
                    for (int i = 0; i < r.length; i++) {
                        r[i] = in[k][idx[i]];
                    }
                } else {
                    for (int i = 0; i < r.length; i++) {
                        r[i] = f.applyAsDouble(r[i], in[k][idx[i]]);
                    }
                }
            }
            return new double[][] {r};
        });
    }

    static void where(Ctx c) {
        long[] s0 = c.shape(0);
        long[] s1 = c.shape(1);
        long[] s2 = c.shape(2);
        long[] out = Nd.broadcast(Nd.broadcast(s0, s1, c.op()), s2, c.op());
        int type = c.allConst() ? c.need(1).type() : OnnxGraph.FLOAT;
        c.java(new long[][] {out}, new int[] {type}, in -> {
            int[] i0 = Nd.broadcastIndex(s0, out);
            int[] i1 = Nd.broadcastIndex(s1, out);
            int[] i2 = Nd.broadcastIndex(s2, out);
            double[] r = new double[i0.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = in[0][i0[i]] != 0 ? in[1][i1[i]] : in[2][i2[i]];
            }
            return new double[][] {r};
        });
    }

    static void unary(Ctx c, DoubleUnaryOperator f, int constType) {
        long[] s = c.shape(0);
        c.java(new long[][] {s}, new int[] {c.allConst() ? constType : OnnxGraph.FLOAT}, in -> {
            double[] r = new double[in[0].length];
            for (int i = 0; i < r.length; i++) {
                r[i] = f.applyAsDouble(in[0][i]);
            }
            return new double[][] {r};
        });
    }

    /** An activation: the library's layer on a computed input (oneDNN eltwise), folded on a constant one. */
    static void activation(Ctx c, Module layer, DoubleUnaryOperator ref) {
        if (c.need(0).isConst()) {
            layer.close();
            unary(c, ref, OnnxGraph.FLOAT);
            return;
        }
        c.layer(layer, c.shape(0));
    }

    static void hardSigmoid(Ctx c) {
        double alpha = c.f("alpha", 0.2f);
        double beta = c.f("beta", 0.5f);
        if ((float) alpha == (float) (1.0 / 6) && beta == 0.5) {
            activation(c, new Hardsigmoid(), x -> Math.min(Math.max(x / 6 + 0.5, 0), 1));
        } else {
            unary(c, x -> Math.min(Math.max(alpha * x + beta, 0), 1), OnnxGraph.FLOAT);
        }
    }

    static void clip(Ctx c) {
        double lo;
        double hi;
        if (c.opset < 11 || c.attr("min") != null || c.attr("max") != null) {
            lo = c.f("min", Float.NEGATIVE_INFINITY);
            hi = c.f("max", Float.POSITIVE_INFINITY);
        } else {
            lo = c.in(1) == null ? Double.NEGATIVE_INFINITY : c.constant(1, "min")[0];
            hi = c.in(2) == null ? Double.POSITIVE_INFINITY : c.constant(2, "max")[0];
        }
        DoubleUnaryOperator ref = x -> Double.isNaN(x) ? x : Math.min(Math.max(x, lo), hi);
        if (lo == 0 && hi == 6) {
            activation(c, new ReLU6(), ref);
        } else if (lo == 0 && hi == Double.POSITIVE_INFINITY) {
            activation(c, new ReLU(), ref);
        } else if (!c.need(0).isConst()) {
            c.graph(new UnaryOp(UnaryOp.Kind.CLIP, (float) lo, (float) hi, c.shape(0)), 0);
        } else {
            unary(c, ref, c.need(0).type());
        }
    }

    static void cast(Ctx c) {
        int to = (int) c.i("to", OnnxGraph.FLOAT);
        DoubleUnaryOperator f = switch (to) {
            case OnnxGraph.FLOAT, OnnxGraph.FLOAT16, OnnxGraph.BFLOAT16 -> x -> (float) x;
            case OnnxGraph.DOUBLE -> x -> x;
            case OnnxGraph.BOOL -> x -> x != 0 ? 1 : 0;
            default -> x -> (double) (long) x; // integers truncate toward zero
        };
        if (!c.need(0).isConst() && OnnxGraph.isFloat(to)) {
            c.view(c.shape(0)); // float to float at run time: everything computes in float32
            return;
        }
        unary(c, f, OnnxGraph.isFloat(to) ? OnnxGraph.FLOAT : to);
    }
}
