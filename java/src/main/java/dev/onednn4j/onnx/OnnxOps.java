package dev.onednn4j.onnx;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.onnx.OnnxGraph.Data;
import dev.onednn4j.internal.op.BinaryOp;
import dev.onednn4j.internal.op.ConcatOp;
import dev.onednn4j.internal.op.CopyOp;
import dev.onednn4j.internal.op.DeconvOp;
import dev.onednn4j.internal.op.LayerNormOp;
import dev.onednn4j.internal.op.MatMulOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.ReduceOp;
import dev.onednn4j.internal.op.ResampleOp;
import dev.onednn4j.internal.op.SoftmaxOp;
import dev.onednn4j.internal.op.UnaryOp;
import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.AvgPool2d;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.GELU;
import dev.onednn4j.nn.Hardsigmoid;
import dev.onednn4j.nn.Hardswish;
import dev.onednn4j.nn.LeakyReLU;
import dev.onednn4j.nn.Linear;
import dev.onednn4j.nn.MaxPool2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.ReLU6;
import dev.onednn4j.nn.SiLU;
import dev.onednn4j.nn.Sigmoid;
import dev.onednn4j.nn.Tanh;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.onnx.Resolution.Val;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * The ONNX operations onednn4j runs, by op type: each resolves a node for known input shapes, checking its
 * attributes and inputs, and either folds it into a constant, maps it onto a library layer (convolution, batch
 * norm, pooling, linear, the activations: oneDNN primitives with their reference loops) or runs it as a plain Java
 * loop on float32 tensors.
 */
final class OnnxOps {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private static TensorImpl impl(Tensor t) {
        return t == null ? null : FACE.impl(t);
    }

    /** How one op type resolves a node. */
    interface Op {
        void resolve(Ctx c);
    }

    private static final Map<String, Op> OPS = new TreeMap<>();

    private OnnxOps() {}

    static Op get(String opType) {
        Op op = OPS.get(opType);
        if (op == null) {
            throw new IllegalArgumentException("unsupported ONNX op " + opType);
        }
        return op;
    }

    /** The supported op types of the default domain, sorted. */
    static Set<String> supported() {
        return PUBLIC;
    }

    private static final Set<String> PUBLIC = new java.util.TreeSet<>();

    static {
        // ---- element-wise, binary (numpy broadcasting) ----
        OPS.put("Add", c -> arith(c, BinaryOp.Kind.ADD));
        OPS.put("Sub", c -> arith(c, BinaryOp.Kind.SUB));
        OPS.put("Mul", c -> arith(c, BinaryOp.Kind.MUL));
        OPS.put("Div", c -> arith(c, BinaryOp.Kind.DIV));
        OPS.put("Pow", OnnxOps::pow);
        OPS.put("Min", c -> {
            if (c.inputs() == 2) {
                arith(c, BinaryOp.Kind.MIN);
            } else {
                variadic(c, Math::min);
            }
        });
        OPS.put("Max", c -> {
            if (c.inputs() == 2) {
                arith(c, BinaryOp.Kind.MAX);
            } else {
                variadic(c, Math::max);
            }
        });
        OPS.put("Sum", c -> variadic(c, Double::sum));
        OPS.put("Mod", c -> {
            boolean fmod = c.i("fmod", 0) == 1;
            binary(
                    c,
                    (a, b) -> fmod ? a % b : a - Math.floor(a / b) * b,
                    -1,
                    c.need(0).type());
        });
        OPS.put("Equal", c -> binary(c, (a, b) -> a == b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Less", c -> binary(c, (a, b) -> a < b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("LessOrEqual", c -> binary(c, (a, b) -> a <= b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Greater", c -> binary(c, (a, b) -> a > b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("GreaterOrEqual", c -> binary(c, (a, b) -> a >= b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("And", c -> binary(c, (a, b) -> a != 0 && b != 0 ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Or", c -> binary(c, (a, b) -> a != 0 || b != 0 ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Where", OnnxOps::where);

        // ---- element-wise, unary: library layers where one exists, else a Java loop ----
        OPS.put("Relu", c -> activation(c, new ReLU(), x -> Math.max(x, 0)));
        OPS.put("Sigmoid", c -> activation(c, new Sigmoid(), x -> 1 / (1 + Math.exp(-x))));
        OPS.put("Tanh", c -> activation(c, new Tanh(), Math::tanh));
        OPS.put("HardSwish", c -> activation(c, new Hardswish(), x -> x * Math.min(Math.max(x + 3, 0), 6) / 6));
        OPS.put("HardSigmoid", OnnxOps::hardSigmoid);
        OPS.put("LeakyRelu", c -> {
            double alpha = c.f("alpha", 0.01f);
            activation(c, new LeakyReLU(alpha), x -> x > 0 ? x : alpha * x);
        });
        OPS.put("Gelu", c -> {
            String approx = c.s("approximate", "none");
            DoubleUnaryOperator ref = approx.equals("tanh")
                    ? x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
                    : x -> 0.5 * x * (1 + Nd.erf(x / Math.sqrt(2)));
            activation(c, new GELU(approx), ref);
        });
        OPS.put("Clip", OnnxOps::clip);
        OPS.put(
                "Neg",
                c -> eltwise(c, UnaryOp.Kind.LINEAR, -1, 0, x -> -x, c.need(0).type()));
        OPS.put(
                "Abs",
                c -> eltwise(c, UnaryOp.Kind.ABS, 0, 0, Math::abs, c.need(0).type()));
        OPS.put("Sqrt", c -> eltwise(c, UnaryOp.Kind.SQRT, 0, 0, Math::sqrt, OnnxGraph.FLOAT));
        OPS.put("Exp", c -> eltwise(c, UnaryOp.Kind.EXP, 0, 0, Math::exp, OnnxGraph.FLOAT));
        OPS.put("Log", c -> eltwise(c, UnaryOp.Kind.LOG, 0, 0, Math::log, OnnxGraph.FLOAT));
        OPS.put("Reciprocal", c -> unary(c, x -> 1 / x, OnnxGraph.FLOAT));
        OPS.put("Erf", c -> unary(c, Nd::erf, OnnxGraph.FLOAT));
        OPS.put("Floor", c -> unary(c, Math::floor, c.need(0).type()));
        OPS.put("Ceil", c -> unary(c, Math::ceil, c.need(0).type()));
        OPS.put("Not", c -> unary(c, x -> x == 0 ? 1 : 0, OnnxGraph.BOOL));
        OPS.put("Cast", OnnxOps::cast);
        OPS.put("Identity", c -> c.view(c.shape(0)));
        OPS.put("Dropout", c -> {
            c.view(c.shape(0));
            if (c.node.outputs().size() > 1 && !c.node.outputs().get(1).isEmpty()) {
                double[] ones = new double[Nd.numel(c.shape(0))];
                Arrays.fill(ones, 1);
                c.constOut(1, OnnxGraph.BOOL, c.shape(0), ones); // inference: nothing is dropped
            }
        });

        // ---- shapes and data movement ----
        OPS.put("Shape", OnnxOps::shape);
        OPS.put("Size", c -> c.constOut(0, OnnxGraph.INT64, new long[0], new double[] {Nd.numel(c.shape(0))}));
        OPS.put("Constant", OnnxOps::constant);
        OPS.put("ConstantOfShape", OnnxOps::constantOfShape);
        OPS.put("Range", OnnxOps::range);
        OPS.put("Reshape", OnnxOps::reshape);
        OPS.put("Flatten", c -> {
            long[] s = c.shape(0);
            int axis = Nd.axis(c.i("axis", 1), s.length + 1, c.op());
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= s[i];
            }
            c.view(new long[] {outer, Nd.numel(s) / Math.max(outer, 1)});
        });
        OPS.put("Squeeze", OnnxOps::squeeze);
        OPS.put("Unsqueeze", OnnxOps::unsqueeze);
        OPS.put("Transpose", OnnxOps::transpose);
        OPS.put("Concat", OnnxOps::concat);
        OPS.put("Slice", OnnxOps::slice);
        OPS.put("Gather", OnnxOps::gather);
        OPS.put("Split", OnnxOps::split);
        OPS.put("Expand", OnnxOps::expand);
        OPS.put("Tile", OnnxOps::tile);
        OPS.put("ScatterND", OnnxOps::scatterNd);
        OPS.put("Pad", OnnxOps::pad);

        // ---- normalisation, reductions, attention ----
        OPS.put("Softmax", OnnxOps::softmax);
        OPS.put("LayerNormalization", OnnxOps::layerNorm);
        OPS.put("ReduceMean", c -> reduce(c, "mean"));
        OPS.put("ReduceSum", c -> reduce(c, "sum"));
        OPS.put("ReduceMax", c -> reduce(c, "max"));
        OPS.put("ReduceMin", c -> reduce(c, "min"));
        OPS.put("MatMul", OnnxOps::matmul);
        OPS.put(Fusions.MATMUL_BIAS, OnnxOps::matmulBias);
        OPS.put(Fusions.SILU, c -> activation(c, new SiLU(), x -> x / (1 + Math.exp(-x))));
        OPS.put("Gemm", OnnxOps::gemm);

        // ---- convolutions and pooling ----
        OPS.put("Conv", OnnxOps::conv);
        OPS.put("ConvTranspose", OnnxOps::convTranspose);
        OPS.put("BatchNormalization", OnnxOps::batchNorm);
        OPS.put("MaxPool", c -> pool(c, true));
        OPS.put("AveragePool", c -> pool(c, false));
        OPS.put("GlobalAveragePool", c -> globalPool(c, false));
        OPS.put("GlobalMaxPool", c -> globalPool(c, true));
        OPS.put("Resize", OnnxOps::resize);
        for (String op : OPS.keySet()) {
            if (!op.contains(".")) { // the library's own fused forms are not ONNX ops
                PUBLIC.add(op);
            }
        }
    }

    // ---- element-wise ---------------------------------------------------------------------------

    /**
     * Add, Sub, Mul, Div, Min, Max of two operands: folded when both are constants (integer division truncates);
     * two computed operands of one shape added with the library's {@code add}; a scalar constant operand as
     * {@code alpha * x + beta} (or {@code c / x} as {@code c * x^-1}); otherwise oneDNN's binary primitive, the
     * operand of the output's shape first (swapped where the operation commutes); a plain Java loop where neither
     * operand has the output's shape.
     */
    private static void arith(Ctx c, BinaryOp.Kind kind) {
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
                    new BinaryOp(kind, a.shape(), b.shape(), impl(k)),
                    k != null ? new int[] {0} : new int[] {0, 1},
                    0,
                    null);
            return;
        }
        if (commutes && !b.isConst() && Arrays.equals(out, b.shape())) {
            Tensor k = a.isConst() ? c.constantTensor(0) : null;
            c.graph(
                    new BinaryOp(kind, b.shape(), a.shape(), impl(k)),
                    k != null ? new int[] {1} : new int[] {1, 0},
                    0,
                    null);
            return;
        }
        binary(c, kind::apply, -1, a.type());
    }

    private static boolean arithmetic(BinaryOp.Kind kind) {
        return kind == BinaryOp.Kind.ADD
                || kind == BinaryOp.Kind.SUB
                || kind == BinaryOp.Kind.MUL
                || kind == BinaryOp.Kind.DIV;
    }

    private static void pow(Ctx c) {
        Val e = c.need(1);
        if (!c.need(0).isConst() && e.isConst() && Nd.numel(e.shape()) == 1) {
            float p = (float) e.values()[0];
            c.graph(new UnaryOp(UnaryOp.Kind.POW, 1, p, c.shape(0)), 0);
            return;
        }
        binary(c, Math::pow, OnnxGraph.FLOAT, c.need(0).type());
    }

    /** A function on oneDNN's eltwise primitive, folded on a constant. */
    private static void eltwise(
            Ctx c, UnaryOp.Kind kind, float alpha, float beta, DoubleUnaryOperator ref, int constType) {
        if (c.need(0).isConst()) {
            unary(c, ref, constType);
            return;
        }
        c.graph(new UnaryOp(kind, alpha, beta, c.shape(0)), 0);
    }

    private static double integerOp(DoubleBinaryOperator f, double x, double y) {
        double r = f.applyAsDouble(x, y);
        return r < 0 ? Math.ceil(r) : Math.floor(r); // integer division truncates, as ONNX's int64 Div
    }

    /**
     * A broadcasting binary operation; {@code type} is the output's type, or -1 for the inputs' (float at run
     * time).
     */
    private static void binary(Ctx c, DoubleBinaryOperator f, int type, int constType) {
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

    private static void variadic(Ctx c, DoubleBinaryOperator f) {
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

    private static void where(Ctx c) {
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

    private static void unary(Ctx c, DoubleUnaryOperator f, int constType) {
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
    private static void activation(Ctx c, Module layer, DoubleUnaryOperator ref) {
        if (c.need(0).isConst()) {
            layer.close();
            unary(c, ref, OnnxGraph.FLOAT);
            return;
        }
        c.layer(layer, c.shape(0));
    }

    private static void hardSigmoid(Ctx c) {
        double alpha = c.f("alpha", 0.2f);
        double beta = c.f("beta", 0.5f);
        if ((float) alpha == (float) (1.0 / 6) && beta == 0.5) {
            activation(c, new Hardsigmoid(), x -> Math.min(Math.max(x / 6 + 0.5, 0), 1));
        } else {
            unary(c, x -> Math.min(Math.max(alpha * x + beta, 0), 1), OnnxGraph.FLOAT);
        }
    }

    private static void clip(Ctx c) {
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

    private static void cast(Ctx c) {
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

    // ---- shapes --------------------------------------------------------------------------------

    private static void shape(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long start = c.i("start", 0);
        long end = c.i("end", r);
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        double[] v = new double[(int) Math.max(end - start, 0)];
        for (int i = 0; i < v.length; i++) {
            v[i] = s[(int) start + i];
        }
        c.constOut(0, OnnxGraph.INT64, new long[] {v.length}, v);
    }

    private static void constant(Ctx c) {
        var a = c.node.attributes();
        if (a.containsKey("value")) {
            Data d = a.get("value").t();
            c.constOut(0, d.elemType(), d.shape(), d.toDoubles());
        } else if (a.containsKey("value_float")) {
            c.constOut(0, OnnxGraph.FLOAT, new long[0], new double[] {
                a.get("value_float").f()
            });
        } else if (a.containsKey("value_floats")) {
            float[] f = a.get("value_floats").floats();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            c.constOut(0, OnnxGraph.FLOAT, new long[] {f.length}, d);
        } else if (a.containsKey("value_int")) {
            c.constOut(0, OnnxGraph.INT64, new long[0], new double[] {
                a.get("value_int").i()
            });
        } else if (a.containsKey("value_ints")) {
            long[] l = a.get("value_ints").ints();
            c.constOut(0, OnnxGraph.INT64, new long[] {l.length}, Nd.doubles(l));
        } else {
            throw c.error("Constant has no value attribute this library reads (value, value_float(s), value_int(s))");
        }
    }

    private static void constantOfShape(Ctx c) {
        long[] shape = Nd.longs(c.constant(0, "shape"));
        checkShape(c, shape);
        var a = c.attr("value");
        int type = a == null ? OnnxGraph.FLOAT : a.t().elemType();
        double v = a == null ? 0 : a.t().toDoubles()[0];
        double[] d = new double[Nd.numel(shape)];
        Arrays.fill(d, v);
        c.constOut(0, type, shape, d);
    }

    private static void checkShape(Ctx c, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw c.error("negative dimension in shape %s", Arrays.toString(shape));
            }
        }
        Nd.numel(shape);
    }

    private static void range(Ctx c) {
        double start = c.constant(0, "start")[0];
        double limit = c.constant(1, "limit")[0];
        double delta = c.constant(2, "delta")[0];
        if (delta == 0) {
            throw c.error("delta must not be 0");
        }
        long n = (long) Math.max(Math.ceil((limit - start) / delta), 0);
        if (n > Integer.MAX_VALUE - 8) {
            throw c.error("Range of %d elements is too large", n);
        }
        double[] d = new double[(int) n];
        for (int i = 0; i < d.length; i++) {
            d[i] = start + i * delta;
        }
        c.constOut(0, c.need(0).type(), new long[] {n}, d);
    }

    private static void reshape(Ctx c) {
        long[] in = c.shape(0);
        long[] target = Nd.longs(c.constant(1, "shape"));
        boolean allowZero = c.i("allowzero", 0) == 1;
        long[] out = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && !allowZero) {
                if (i >= in.length) {
                    throw c.error(
                            "shape %s copies dimension %d of an input of rank %d",
                            Arrays.toString(target), i, in.length);
                }
                out[i] = in[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) {
                    throw c.error("only one dimension can be inferred, shape %s", Arrays.toString(target));
                }
                infer = i;
            } else if (out[i] < 0) {
                throw c.error("invalid shape dimension %d in %s", out[i], Arrays.toString(target));
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            int n = Nd.numel(in);
            if (known == 0 || n % known != 0) {
                throw c.error("shape %s is invalid for input of size %d", Arrays.toString(target), n);
            }
            out[infer] = n / known;
        }
        c.view(out);
    }

    private static long[] axesOf(Ctx c, String what) {
        if (c.opset >= 13 && c.in(1) != null) {
            return Nd.longs(c.constant(1, what));
        }
        return c.ints(what, null);
    }

    private static void squeeze(Ctx c) {
        long[] s = c.shape(0);
        long[] axes = axesOf(c, "axes");
        List<Long> out = new ArrayList<>();
        boolean[] drop = new boolean[s.length];
        if (axes == null) {
            for (int i = 0; i < s.length; i++) {
                drop[i] = s[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = Nd.axis(a, s.length, c.op());
                if (s[ax] != 1) {
                    throw c.error("cannot squeeze dimension %d of size %d (shape %s)", ax, s[ax], Arrays.toString(s));
                }
                drop[ax] = true;
            }
        }
        for (int i = 0; i < s.length; i++) {
            if (!drop[i]) {
                out.add(s[i]);
            }
        }
        c.view(out.stream().mapToLong(Long::longValue).toArray());
    }

    private static void unsqueeze(Ctx c) {
        long[] s = c.shape(0);
        long[] axes = axesOf(c, "axes");
        if (axes == null) {
            throw c.error("Unsqueeze needs axes");
        }
        int r = s.length + axes.length;
        boolean[] added = new boolean[r];
        for (long a : axes) {
            int ax = Nd.axis(a, r, c.op());
            if (added[ax]) {
                throw c.error("axis %d appears twice in %s", ax, Arrays.toString(axes));
            }
            added[ax] = true;
        }
        long[] out = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            out[i] = added[i] ? 1 : s[j++];
        }
        c.view(out);
    }

    private static void transpose(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long[] p = c.ints("perm", null);
        int[] perm = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            perm[i] = p == null ? r - 1 - i : Nd.axis(p[i], r, c.op());
            if (seen[perm[i]] || (p != null && p.length != r)) {
                throw c.error("perm %s is not a permutation of %d axes", Arrays.toString(p), r);
            }
            seen[perm[i]] = true;
        }
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            out[i] = s[perm[i]];
        }
        if (!c.need(0).isConst()) {
            c.graph(CopyOp.permute(s, perm), 0);
            return;
        }
        c.java(new long[][] {out}, new int[] {c.need(0).type()}, in -> new double[][] {Nd.transpose(in[0], s, perm)});
    }

    private static void concat(Ctx c) {
        int n = c.inputs();
        long[] first = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), first.length, c.op());
        long[] out = first.clone();
        out[axis] = 0;
        for (int k = 0; k < n; k++) {
            long[] s = c.shape(k);
            for (int d = 0; d < first.length; d++) {
                if (s.length != first.length || (d != axis && s[d] != first[d])) {
                    throw c.error(
                            "Sizes of tensors must match except in dimension %d. Expected size %d but got size %d for "
                                    + "tensor number %d in the list (shapes %s and %s)",
                            axis,
                            d < first.length ? first[d] : -1,
                            d < s.length ? s[d] : -1,
                            k,
                            Arrays.toString(first),
                            Arrays.toString(s));
                }
            }
            out[axis] += s[axis];
        }
        List<long[]> parts = new ArrayList<>();
        TensorImpl[] consts = new TensorImpl[n];
        List<Integer> computed = new ArrayList<>();
        boolean fold = c.allConst();
        for (int k = 0; k < n; k++) {
            parts.add(c.shape(k));
            if (c.need(k).isConst() && !fold) {
                consts[k] = impl(c.constantTensor(k));
            } else {
                computed.add(k);
            }
        }
        int[] inputs = computed.stream().mapToInt(Integer::intValue).toArray();
        c.graph(new ConcatOp(axis, parts, consts), inputs, 0, null);
    }

    private static void slice(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps;
        if (c.opset < 10) {
            starts = c.ints("starts", null);
            ends = c.ints("ends", null);
            axes = c.ints("axes", null);
            steps = null;
        } else {
            starts = Nd.longs(c.constant(1, "starts"));
            ends = Nd.longs(c.constant(2, "ends"));
            axes = c.in(3) == null ? null : Nd.longs(c.constant(3, "axes"));
            steps = c.in(4) == null ? null : Nd.longs(c.constant(4, "steps"));
        }
        long[] start = new long[r];
        long[] step = new long[r];
        long[] count = s.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            int ax = Nd.axis(axes == null ? i : axes[i], r, c.op());
            long st = steps == null ? 1 : steps[i];
            if (st == 0) {
                throw c.error("slice step cannot be zero");
            }
            long dim = s[ax];
            long b = starts[i];
            long e = ends[i];
            b = b < 0 ? b + dim : b;
            e = e < 0 ? e + dim : e;
            if (st > 0) {
                b = Math.clamp(b, 0, dim);
                e = Math.clamp(e, 0, dim);
                count[ax] = Math.max(0, (e - b + st - 1) / st);
            } else {
                b = Math.clamp(b, -1, dim - 1);
                e = Math.clamp(e, -1, dim - 1);
                count[ax] = Math.max(0, (b - e - st - 1) / -st);
            }
            start[ax] = count[ax] == 0 ? 0 : b;
            step[ax] = st;
        }
        boolean unit = Arrays.stream(step).allMatch(x -> x == 1) && Nd.numel(count) > 0;
        if (!c.need(0).isConst() && unit) {
            c.graph(CopyOp.block(s, start, count), 0);
            return;
        }
        CopyOp stepped = c.need(0).isConst() || Nd.numel(count) == 0 ? null : CopyOp.strided(s, start, count, step);
        if (stepped != null) {
            c.graph(stepped, new int[] {0}, 0, count);
            return;
        }
        c.java(new long[][] {count}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in ->
                new double[][] {Nd.slice(in[0], s, start, step, count)});
    }

    private static void gather(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), s.length, c.op());
        long[] idxShape = c.shape(1);
        double[] idx = c.constant(1, "indices");
        long dim = s[axis];
        int[] index = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            long v = (long) idx[i];
            if (v < -dim || v >= dim) {
                throw c.error("index %d is out of bounds for dimension %d with size %d", v, axis, dim);
            }
            index[i] = (int) (v < 0 ? v + dim : v);
        }
        long[] out = new long[s.length - 1 + idxShape.length];
        int k = 0;
        for (int d = 0; d < axis; d++) {
            out[k++] = s[d];
        }
        for (long d : idxShape) {
            out[k++] = d;
        }
        for (int d = axis + 1; d < s.length; d++) {
            out[k++] = s[d];
        }
        long outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= s[d];
        }
        long inner = 1;
        for (int d = axis + 1; d < s.length; d++) {
            inner *= s[d];
        }
        if (!c.need(0).isConst() && idxShape.length == 0) {
            long[] start = new long[s.length];
            start[axis] = index[0];
            long[] count = s.clone();
            count[axis] = 1;
            c.graph(CopyOp.block(s, start, count), new int[] {0}, 0, out);
            return;
        }
        long o = outer;
        int in2 = (int) inner;
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = new double[Nd.numel(out)];
            int at = 0;
            // [outer, dim, inner] -> [outer, |indices|, inner]
            for (long i = 0; i < o; i++) {
                for (int j : index) {
                    System.arraycopy(in[0], (int) ((i * dim + j) * in2), r, at, in2);
                    at += in2;
                }
            }
            return new double[][] {r};
        });
    }

    private static void split(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), s.length, c.op());
        int outs = c.node.outputs().size();
        long[] sizes;
        if (c.in(1) != null) {
            sizes = Nd.longs(c.constant(1, "split"));
        } else if (c.attr("split") != null) {
            sizes = c.ints("split", null);
        } else {
            long n = c.i("num_outputs", outs);
            sizes = new long[outs];
            long each = (s[axis] + n - 1) / n;
            for (int i = 0; i < outs; i++) {
                sizes[i] = Math.min(each, Math.max(0, s[axis] - i * each));
            }
        }
        if (sizes.length != outs || Arrays.stream(sizes).sum() != s[axis]) {
            throw c.error(
                    "split sizes %s do not add up to dimension %d of size %d over %d outputs",
                    Arrays.toString(sizes), axis, s[axis], outs);
        }
        long[][] shapes = new long[outs][];
        int[] types = new int[outs];
        long[] offsets = new long[outs];
        long acc = 0;
        for (int i = 0; i < outs; i++) {
            shapes[i] = s.clone();
            shapes[i][axis] = sizes[i];
            types[i] = c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT;
            offsets[i] = acc;
            acc += sizes[i];
        }
        if (!c.need(0).isConst() && Arrays.stream(sizes).allMatch(x -> x > 0)) {
            for (int i = 0; i < outs; i++) {
                long[] start = new long[s.length];
                start[axis] = offsets[i];
                c.graph(CopyOp.block(s, start, shapes[i]), new int[] {0}, i, null);
            }
            return;
        }
        long[] one = new long[s.length];
        Arrays.fill(one, 1);
        c.java(shapes, types, in -> {
            double[][] r = new double[outs][];
            for (int i = 0; i < outs; i++) {
                long[] start = new long[s.length];
                start[axis] = offsets[i];
                r[i] = Nd.slice(in[0], s, start, one, shapes[i]);
            }
            return r;
        });
    }

    private static void expand(Ctx c) {
        long[] s = c.shape(0);
        long[] target = Nd.longs(c.constant(1, "shape"));
        long[] out = Nd.broadcast(s, target, c.op());
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            int[] idx = Nd.broadcastIndex(s, out);
            double[] r = new double[idx.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = in[0][idx[i]];
            }
            return new double[][] {r};
        });
    }

    private static void tile(Ctx c) {
        long[] s = c.shape(0);
        long[] rep = Nd.longs(c.constant(1, "repeats"));
        if (rep.length != s.length) {
            throw c.error(
                    "repeats %s must have one entry per dimension of %s", Arrays.toString(rep), Arrays.toString(s));
        }
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i] * rep[i];
        }
        long[] st = Nd.strides(s);
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = new double[Nd.numel(out)];
            long[] pos = new long[out.length];
            for (int k = 0; k < r.length; k++) {
                long at = 0;
                for (int d = 0; d < out.length; d++) {
                    at += (pos[d] % s[d]) * st[d];
                }
                r[k] = in[0][(int) at];
                for (int d = out.length - 1; d >= 0 && ++pos[d] == out[d]; d--) {
                    pos[d] = 0;
                }
            }
            return new double[][] {r};
        });
    }

    private static void scatterNd(Ctx c) {
        long[] s = c.shape(0);
        long[] is = c.shape(1);
        String reduction = c.s("reduction", "none");
        if (!reduction.equals("none")) {
            throw c.error("ScatterND reduction '%s' is not supported (only none)", reduction);
        }
        double[] idx = c.constant(1, "indices");
        int q = (int) is[is.length - 1];
        if (q > s.length) {
            throw c.error("indices' last dimension %d exceeds the data's rank %d", q, s.length);
        }
        long[] st = Nd.strides(s);
        int block = 1;
        for (int d = q; d < s.length; d++) {
            block *= (int) s[d];
        }
        int updates = idx.length / Math.max(q, 1);
        int[] at = new int[updates];
        for (int u = 0; u < updates; u++) {
            long off = 0;
            for (int d = 0; d < q; d++) {
                long v = (long) idx[u * q + d];
                if (v < -s[d] || v >= s[d]) {
                    throw c.error("index %d is out of bounds for dimension %d with size %d", v, d, s[d]);
                }
                off += (v < 0 ? v + s[d] : v) * st[d];
            }
            at[u] = (int) off;
        }
        int b = block;
        c.java(new long[][] {s}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = in[0].clone();
            for (int u = 0; u < at.length; u++) {
                System.arraycopy(in[2], u * b, r, at[u], b);
            }
            return new double[][] {r};
        });
    }

    private static void pad(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        String mode = c.s("mode", "constant");
        long[] pads = c.opset >= 11 ? Nd.longs(c.constant(1, "pads")) : c.ints("pads", null);
        double value = c.opset >= 11 ? (c.in(2) == null ? 0 : c.constant(2, "constant_value")[0]) : c.f("value", 0);
        long[] axes = c.in(3) == null ? null : Nd.longs(c.constant(3, "axes"));
        int na = axes == null ? r : axes.length;
        if (pads == null || pads.length != 2 * na) {
            throw c.error("pads must hold 2 values per padded axis (%d), got %s", na, Arrays.toString(pads));
        }
        long[] before = new long[r];
        long[] out = s.clone();
        for (int i = 0; i < na; i++) {
            int ax = axes == null ? i : Nd.axis(axes[i], r, c.op());
            before[ax] = pads[i];
            out[ax] = s[ax] + pads[i] + pads[i + na];
            if (out[ax] < 0 || pads[i] < 0 || pads[i + na] < 0) {
                throw c.error("negative pads %s are not supported", Arrays.toString(pads));
            }
            if (!mode.equals("constant") && (pads[i] >= s[ax] || pads[i + na] >= s[ax]) && mode.equals("reflect")) {
                throw c.error(
                        "reflect padding %s must be smaller than the dimension (%d)", Arrays.toString(pads), s[ax]);
            }
        }
        if (!mode.equals("constant") && !mode.equals("reflect") && !mode.equals("edge")) {
            throw c.error("pad mode '%s' is not supported (constant, reflect, edge)", mode);
        }
        if (Arrays.stream(pads).allMatch(p -> p == 0)) {
            c.view(s);
            return;
        }
        long[] st = Nd.strides(s);
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] res = new double[Nd.numel(out)];
            long[] pos = new long[r];
            for (int k = 0; k < res.length; k++) {
                long at = 0;
                boolean outside = false;
                for (int d = 0; d < r; d++) {
                    long p = pos[d] - before[d];
                    if (p < 0 || p >= s[d]) {
                        if (mode.equals("constant")) {
                            outside = true;
                            break;
                        }
                        p = mode.equals("edge") ? Math.clamp(p, 0, s[d] - 1) : (p < 0 ? -p : 2 * (s[d] - 1) - p);
                    }
                    at += p * st[d];
                }
                res[k] = outside ? value : in[0][(int) at];
                for (int d = r - 1; d >= 0 && ++pos[d] == out[d]; d--) {
                    pos[d] = 0;
                }
            }
            return new double[][] {res};
        });
    }

    // ---- normalisation, reductions, matrix products ------------------------------------------------

    /** [outer, n, inner] around {@code axis}. */
    private static long[] around(long[] s, int from, int to) {
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
    private static void softmax(Ctx c) {
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
    private static void layerNorm(Ctx c) {
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
        c.graph(new LayerNormOp(new long[] {g[0], g[1]}, eps, impl(scale), impl(shift)), new int[] {0}, 0, s);
    }

    /** Constant input {@code i} broadcast to {@code shape} and flattened, as a tensor the resolution owns. */
    private static Tensor flattened(Ctx c, int i, String what, long[] shape) {
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

    private static void reduce(Ctx c, String kind) {
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

    private static void matmul(Ctx c) {
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
    private static void matmulBias(Ctx c) {
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
    private static void linear(Ctx c, int inF, int outF, double[] weight, double[] bias, long[] shape) {
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

    private static void gemm(Ctx c) {
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

    // ---- convolutions and pooling -----------------------------------------------------------------

    /** The 2-D window attributes of a node on an input of {@code s} (N, C, H, W), with PyTorch-symmetric pads. */
    private record Window(int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {}

    private static Window window(Ctx c, long[] s, long[] kernel) {
        if (s.length != 4) {
            throw c.error("onednn4j supports 2-D spatial inputs (N, C, H, W) here; got shape %s", Arrays.toString(s));
        }
        long[] k = c.ints("kernel_shape", kernel);
        if (k == null || k.length != 2) {
            throw c.error("kernel_shape must have 2 entries, got %s", Arrays.toString(k));
        }
        long[] st = c.ints("strides", new long[] {1, 1});
        long[] dil = c.ints("dilations", new long[] {1, 1});
        long[] pads = c.ints("pads", new long[] {0, 0, 0, 0});
        String auto = c.s("auto_pad", "NOTSET");
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            pads = new long[4];
            for (int d = 0; d < 2; d++) {
                long in = s[2 + d];
                long out = (in + st[d] - 1) / st[d];
                long total = Math.max(0, (out - 1) * st[d] + (k[d] - 1) * dil[d] + 1 - in);
                long small = total / 2;
                pads[d] = auto.equals("SAME_UPPER") ? small : total - small;
                pads[d + 2] = total - pads[d];
            }
        } else if (auto.equals("VALID")) {
            pads = new long[4];
        } else if (!auto.equals("NOTSET")) {
            throw c.error("auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto);
        }
        if (pads.length != 4 || st.length != 2 || dil.length != 2) {
            throw c.error(
                    "pads %s, strides %s and dilations %s must be for 2 spatial axes",
                    Arrays.toString(pads), Arrays.toString(st), Arrays.toString(dil));
        }
        if (pads[0] != pads[2] || pads[1] != pads[3]) {
            throw c.error(
                    "asymmetric pads %s (begin and end differ) are not supported yet; PyTorch exports symmetric ones",
                    Arrays.toString(pads));
        }
        for (long v : new long[] {k[0], k[1], st[0], st[1], dil[0], dil[1], pads[0], pads[1]}) {
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw c.error(
                        "kernel %s, strides %s, dilations %s and pads %s must be non-negative ints",
                        Arrays.toString(k), Arrays.toString(st), Arrays.toString(dil), Arrays.toString(pads));
            }
        }
        return new Window(
                (int) k[0], (int) k[1], (int) st[0], (int) st[1], (int) pads[0], (int) pads[1], (int) dil[0], (int)
                        dil[1]);
    }

    private static int toInt(Ctx c, long v, String what) {
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw c.error("%s %d is out of range", what, v);
        }
        return (int) v;
    }

    private static void conv(Ctx c) {
        long[] x = c.shape(0);
        long[] w = c.shape(1);
        if (w.length != 4) {
            throw c.error("onednn4j supports 2-D convolutions (a 4-D weight); got weight shape %s", Arrays.toString(w));
        }
        Window win = window(c, x, new long[] {w[2], w[3]});
        int groups = toInt(c, c.i("group", 1), "group");
        int in = toInt(c, x[1], "input channels");
        int out = toInt(c, w[0], "output channels");
        if (groups == 0 || w[1] * groups != x[1]) {
            throw c.error(
                    "Given groups=%d, weight of size %s, expected input%s to have %d channels, but got %d "
                            + "channels instead",
                    groups, Arrays.toString(w), Arrays.toString(x), w[1] * groups, x[1]);
        }
        double[] weight = c.constant(1, "weight");
        double[] bias = c.in(2) == null ? null : c.constant(2, "bias");
        Conv2d conv = Conv2d.builder(in, out, win.kh(), win.kw())
                .stride(win.sh(), win.sw())
                .padding(win.ph(), win.pw())
                .dilation(win.dh(), win.dw())
                .groups(groups)
                .bias(bias != null)
                .build();
        try {
            conv.weight().copyFrom(Nd.floats(weight));
            if (bias != null) {
                conv.bias().copyFrom(Nd.floats(bias));
            }
        } catch (RuntimeException | Error e) {
            conv.close();
            throw e;
        }
        long oh = (x[2] + 2L * win.ph() - (long) win.dh() * (win.kh() - 1) - 1) / win.sh() + 1;
        long ow = (x[3] + 2L * win.pw() - (long) win.dw() * (win.kw() - 1) - 1) / win.sw() + 1;
        if (oh <= 0 || ow <= 0) {
            conv.close();
            throw c.error(
                    "Calculated output size: (%d x %d). Output size is too small (input %s)",
                    oh, ow, Arrays.toString(x));
        }
        c.layer(conv, new long[] {x[0], out, oh, ow});
    }

    private static void convTranspose(Ctx c) {
        long[] x = c.shape(0);
        long[] w = c.shape(1);
        if (w.length != 4 || x.length != 4) {
            throw c.error(
                    "onednn4j supports 2-D transposed convolutions; got input %s, weight %s",
                    Arrays.toString(x), Arrays.toString(w));
        }
        long[] k = c.ints("kernel_shape", new long[] {w[2], w[3]});
        long[] st = c.ints("strides", new long[] {1, 1});
        long[] dil = c.ints("dilations", new long[] {1, 1});
        long[] pads = c.ints("pads", new long[] {0, 0, 0, 0});
        long[] outPad = c.ints("output_padding", new long[] {0, 0});
        int g = (int) c.i("group", 1);
        if (c.ints("output_shape", null) != null || !c.s("auto_pad", "NOTSET").equals("NOTSET")) {
            throw c.error("output_shape and auto_pad are not supported; give pads and output_padding");
        }
        if (g <= 0 || x[1] != w[0] || w[0] % g != 0) {
            throw c.error("input channels %d must equal the weight's first dimension %d (groups %d)", x[1], w[0], g);
        }
        int n = (int) x[0];
        int h = (int) x[2];
        int wd = (int) x[3];
        int cog = (int) w[1];
        int co = cog * g;
        int kh = (int) k[0];
        int kw = (int) k[1];
        long oh = (h - 1) * st[0] - pads[0] - pads[2] + dil[0] * (kh - 1) + outPad[0] + 1;
        long ow = (wd - 1) * st[1] - pads[1] - pads[3] + dil[1] * (kw - 1) + outPad[1] + 1;
        if (oh <= 0 || ow <= 0) {
            throw c.error("output size %dx%d is too small", oh, ow);
        }
        long[] out = {n, co, oh, ow};
        if (!c.need(0).isConst()
                && outPad[0] == 0
                && outPad[1] == 0
                && c.need(1).isConst()
                && (c.in(2) == null || c.need(2).isConst())) {
            float[] wv = Nd.floats(c.constant(1, "weight"));
            float[] bv = c.in(2) == null ? null : Nd.floats(c.constant(2, "bias"));
            c.graph(
                    new DeconvOp(
                            x,
                            wv,
                            cog,
                            kh,
                            kw,
                            g,
                            bv,
                            st,
                            dil,
                            new long[] {pads[0], pads[1]},
                            new long[] {pads[2], pads[3]},
                            new long[] {0, 0}),
                    0);
            return;
        }
        DeconvOp op = new DeconvOp(
                x,
                Nd.floats(c.constant(1, "weight")),
                cog,
                kh,
                kw,
                g,
                c.in(2) == null ? null : Nd.floats(c.constant(2, "bias")),
                st,
                dil,
                new long[] {pads[0], pads[1]},
                new long[] {pads[2], pads[3]},
                outPad);
        c.java(out, in -> new double[][] {op.exact(in)}); // output padding: oneDNN's deconvolution has none
    }

    private static void batchNorm(Ctx c) {
        long[] x = c.shape(0);
        if (x.length != 4) {
            throw c.error(
                    "onednn4j supports BatchNormalization on 4-D (N, C, H, W) inputs; got %s", Arrays.toString(x));
        }
        if (c.i("training_mode", 0) == 1) {
            throw c.error("training_mode=1 is not supported: onednn4j runs inference");
        }
        int ch = toInt(c, x[1], "channels");
        BatchNorm2d bn = BatchNorm2d.builder(ch).eps(c.f("epsilon", 1e-5f)).build();
        try {
            bn.weight().copyFrom(Nd.floats(c.constant(1, "scale")));
            bn.bias().copyFrom(Nd.floats(c.constant(2, "B")));
            bn.runningMean().copyFrom(Nd.floats(c.constant(3, "mean")));
            bn.runningVar().copyFrom(Nd.floats(c.constant(4, "var")));
        } catch (RuntimeException | Error e) {
            bn.close();
            throw e;
        }
        c.layer(bn, x);
    }

    private static void pool(Ctx c, boolean max) {
        long[] x = c.shape(0);
        Window w = window(c, x, null);
        boolean ceil = c.i("ceil_mode", 0) == 1;
        if (max && c.i("storage_order", 0) != 0) {
            throw c.error("storage_order=1 is not supported");
        }
        if (max && c.node.outputs().size() > 1 && !c.node.outputs().get(1).isEmpty()) {
            throw c.error("MaxPool's Indices output is not supported");
        }
        Module m;
        if (max) {
            m = MaxPool2d.builder(w.kh(), w.kw())
                    .stride(w.sh(), w.sw())
                    .padding(w.ph(), w.pw())
                    .dilation(w.dh(), w.dw())
                    .ceilMode(ceil)
                    .build();
        } else {
            if (w.dh() != 1 || w.dw() != 1) {
                throw c.error("AveragePool with dilations %dx%d is not supported", w.dh(), w.dw());
            }
            m = AvgPool2d.builder(w.kh(), w.kw())
                    .stride(w.sh(), w.sw())
                    .padding(w.ph(), w.pw())
                    .ceilMode(ceil)
                    .countIncludePad(c.i("count_include_pad", 0) == 1)
                    .build();
        }
        long[] out = {
            x[0],
            x[1],
            poolSize(x[2], w.kh(), w.sh(), w.ph(), w.dh(), ceil),
            poolSize(x[3], w.kw(), w.sw(), w.pw(), w.dw(), ceil)
        };
        c.layer(m, out);
    }

    private static long poolSize(long in, int k, int s, int p, int d, boolean ceil) {
        long span = in + 2L * p - (long) d * (k - 1) - 1;
        long out = (ceil ? Math.ceilDiv(span, s) : Math.floorDiv(span, s)) + 1;
        if (ceil && (out - 1) * s >= in + p) {
            out--;
        }
        return out;
    }

    private static void globalPool(Ctx c, boolean max) {
        long[] x = c.shape(0);
        if (x.length != 4) {
            throw c.error("onednn4j supports global pooling of 4-D (N, C, H, W) inputs; got %s", Arrays.toString(x));
        }
        long[] out = {x[0], x[1], 1, 1};
        Module m = max
                ? MaxPool2d.builder(toInt(c, x[2], "height"), toInt(c, x[3], "width"))
                        .build()
                : new AdaptiveAvgPool2d(1, 1);
        c.layer(m, out);
    }

    private static void resize(Ctx c) {
        long[] x = c.shape(0);
        String mode = c.s("mode", "nearest");
        String ctm = c.s("coordinate_transformation_mode", "half_pixel");
        String nearest = c.s("nearest_mode", "round_prefer_floor");
        if (c.attr("axes") != null || c.i("antialias", 0) != 0) {
            throw c.error("Resize's axes and antialias attributes are not supported");
        }
        if (!mode.equals("nearest") && !mode.equals("linear")) {
            throw c.error("Resize mode '%s' is not supported (nearest, linear)", mode);
        }
        int r = x.length;
        double[] scales = new double[r];
        long[] out = new long[r];
        Val sizes = c.in(3);
        Val sc = c.in(2);
        if (sizes != null && Nd.numel(sizes.shape()) > 0) {
            long[] sz = Nd.longs(c.constant(3, "sizes"));
            if (sz.length != r) {
                throw c.error(
                        "sizes %s must have one entry per dimension of %s", Arrays.toString(sz), Arrays.toString(x));
            }
            for (int d = 0; d < r; d++) {
                out[d] = sz[d];
                scales[d] = (double) sz[d] / x[d];
            }
        } else if (sc != null && Nd.numel(sc.shape()) > 0) {
            double[] s = c.constant(2, "scales");
            if (s.length != r) {
                throw c.error(
                        "scales %s must have one entry per dimension of %s", Arrays.toString(s), Arrays.toString(x));
            }
            for (int d = 0; d < r; d++) {
                scales[d] = (float) s[d];
                out[d] = (long) Math.floor(x[d] * scales[d]);
            }
        } else {
            throw c.error("Resize needs scales or sizes");
        }
        checkShape(c, out);
        for (int d = 0; d < r - 2; d++) {
            if (out[d] != x[d]) {
                throw c.error(
                        "only the last two dimensions may be resized; %s -> %s",
                        Arrays.toString(x), Arrays.toString(out));
            }
        }
        boolean halfPixel =
                ctm.equals("half_pixel") || (ctm.equals("pytorch_half_pixel") && out[r - 2] > 1 && out[r - 1] > 1);
        boolean exactScale =
                (double) out[r - 2] / x[r - 2] == scales[r - 2] && (double) out[r - 1] / x[r - 1] == scales[r - 1];
        if (!c.need(0).isConst() && mode.equals("linear") && r == 4 && halfPixel && exactScale && Nd.numel(out) > 0) {
            c.graph(new ResampleOp(x, out), 0);
            return;
        }
        long[] o = out;
        c.java(out, in -> {
            int planes = Nd.numel(Arrays.copyOf(x, r - 2));
            int ih = (int) x[r - 2];
            int iw = (int) x[r - 1];
            int oh = (int) o[r - 2];
            int ow = (int) o[r - 1];
            double[] res = new double[planes * oh * ow];
            // [planes, IH, IW] -> [planes, OH, OW]
            for (int p = 0; p < planes; p++) {
                for (int y = 0; y < oh; y++) {
                    double sy = source(y, scales[r - 2], ih, oh, ctm);
                    for (int xx = 0; xx < ow; xx++) {
                        double sx = source(xx, scales[r - 1], iw, ow, ctm);
                        double v;
                        if (mode.equals("nearest")) {
                            int yi = nearestIndex(sy, ih, nearest);
                            int xi = nearestIndex(sx, iw, nearest);
                            v = in[0][(p * ih + yi) * iw + xi];
                        } else {
                            sy = Math.clamp(sy, 0, ih - 1);
                            sx = Math.clamp(sx, 0, iw - 1);
                            int y0 = (int) Math.floor(sy);
                            int x0 = (int) Math.floor(sx);
                            int y1 = Math.min(y0 + 1, ih - 1);
                            int x1 = Math.min(x0 + 1, iw - 1);
                            double fy = sy - y0;
                            double fx = sx - x0;
                            int base = p * ih * iw;
                            v = (1 - fy) * ((1 - fx) * in[0][base + y0 * iw + x0] + fx * in[0][base + y0 * iw + x1])
                                    + fy * ((1 - fx) * in[0][base + y1 * iw + x0] + fx * in[0][base + y1 * iw + x1]);
                        }
                        res[(p * oh + y) * ow + xx] = v;
                    }
                }
            }
            return new double[][] {res};
        });
    }

    private static double source(int o, double scale, int in, int out, String ctm) {
        return switch (ctm) {
            case "align_corners" -> out == 1 ? 0 : o * (double) (in - 1) / (out - 1);
            case "asymmetric" -> o / scale;
            case "pytorch_half_pixel" -> out > 1 ? (o + 0.5) / scale - 0.5 : 0;
            default -> (o + 0.5) / scale - 0.5; // half_pixel
        };
    }

    private static int nearestIndex(double s, int in, String mode) {
        double v = switch (mode) {
            case "floor" -> Math.floor(s);
            case "ceil" -> Math.ceil(s);
            case "round_prefer_ceil" -> Math.floor(s + 0.5);
            default -> Math.ceil(s - 0.5); // round_prefer_floor
        };
        return (int) Math.clamp(v, 0, in - 1);
    }

    /** For messages: a short list of op types. */
    static String list() {
        return String.join(", ", supported());
    }

    /** Unused-import guard for builds that strip Tensor: the layers above hand tensors through {@link Ctx}. */
    static Class<Tensor> tensorType() {
        return Tensor.class;
    }
}
