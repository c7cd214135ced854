package dev.onednn4j.onnx;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.op.BinaryOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.UnaryOp;
import dev.onednn4j.nn.GELU;
import dev.onednn4j.nn.Hardswish;
import dev.onednn4j.nn.LeakyReLU;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.SiLU;
import dev.onednn4j.nn.Sigmoid;
import dev.onednn4j.nn.Tanh;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.DoubleUnaryOperator;

/**
 * The ONNX operations onednn4j runs, by op type: each resolves a node for known input shapes, checking its
 * attributes and inputs, and either folds it into a constant, maps it onto a library layer (convolution, batch
 * norm, pooling, linear, the activations: oneDNN primitives with their reference loops) or runs it as a plain Java
 * loop on float32 tensors. This is the registry; the operations live by family in {@link ElementwiseOps},
 * {@link ShapeOps}, {@link MatrixOps} and {@link ConvOps}.
 */
final class OnnxOps {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    /** The impl under a constant the resolution holds (null stays null), for the operations that take one. */
    static TensorImpl impl(Tensor t) {
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
        OPS.put("Add", c -> ElementwiseOps.arith(c, BinaryOp.Kind.ADD));
        OPS.put("Sub", c -> ElementwiseOps.arith(c, BinaryOp.Kind.SUB));
        OPS.put("Mul", c -> ElementwiseOps.arith(c, BinaryOp.Kind.MUL));
        OPS.put("Div", c -> ElementwiseOps.arith(c, BinaryOp.Kind.DIV));
        OPS.put("Pow", ElementwiseOps::pow);
        OPS.put("Min", c -> {
            if (c.inputs() == 2) {
                ElementwiseOps.arith(c, BinaryOp.Kind.MIN);
            } else {
                ElementwiseOps.variadic(c, Math::min);
            }
        });
        OPS.put("Max", c -> {
            if (c.inputs() == 2) {
                ElementwiseOps.arith(c, BinaryOp.Kind.MAX);
            } else {
                ElementwiseOps.variadic(c, Math::max);
            }
        });
        OPS.put("Sum", c -> ElementwiseOps.variadic(c, Double::sum));
        OPS.put("Mod", c -> {
            boolean fmod = c.i("fmod", 0) == 1;
            ElementwiseOps.binary(
                    c,
                    (a, b) -> fmod ? a % b : a - Math.floor(a / b) * b,
                    -1,
                    c.need(0).type());
        });
        OPS.put("Equal", c -> ElementwiseOps.binary(c, (a, b) -> a == b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Less", c -> ElementwiseOps.binary(c, (a, b) -> a < b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("LessOrEqual", c -> ElementwiseOps.binary(c, (a, b) -> a <= b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Greater", c -> ElementwiseOps.binary(c, (a, b) -> a > b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put(
                "GreaterOrEqual",
                c -> ElementwiseOps.binary(c, (a, b) -> a >= b ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put(
                "And",
                c -> ElementwiseOps.binary(c, (a, b) -> a != 0 && b != 0 ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put(
                "Or",
                c -> ElementwiseOps.binary(c, (a, b) -> a != 0 || b != 0 ? 1 : 0, OnnxGraph.BOOL, OnnxGraph.BOOL));
        OPS.put("Where", ElementwiseOps::where);

        // ---- element-wise, unary: library layers where one exists, else a Java loop ----
        OPS.put("Relu", c -> ElementwiseOps.activation(c, new ReLU(), x -> Math.max(x, 0)));
        OPS.put("Sigmoid", c -> ElementwiseOps.activation(c, new Sigmoid(), x -> 1 / (1 + Math.exp(-x))));
        OPS.put("Tanh", c -> ElementwiseOps.activation(c, new Tanh(), Math::tanh));
        OPS.put(
                "HardSwish",
                c -> ElementwiseOps.activation(c, new Hardswish(), x -> x * Math.min(Math.max(x + 3, 0), 6) / 6));
        OPS.put("HardSigmoid", ElementwiseOps::hardSigmoid);
        OPS.put("LeakyRelu", c -> {
            double alpha = c.f("alpha", 0.01f);
            ElementwiseOps.activation(c, new LeakyReLU(alpha), x -> x > 0 ? x : alpha * x);
        });
        OPS.put("Gelu", c -> {
            String approx = c.s("approximate", "none");
            DoubleUnaryOperator ref = approx.equals("tanh")
                    ? x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
                    : x -> 0.5 * x * (1 + Nd.erf(x / Math.sqrt(2)));
            ElementwiseOps.activation(c, new GELU(approx), ref);
        });
        OPS.put("Clip", ElementwiseOps::clip);
        OPS.put(
                "Neg",
                c -> ElementwiseOps.eltwise(
                        c, UnaryOp.Kind.LINEAR, -1, 0, x -> -x, c.need(0).type()));
        OPS.put(
                "Abs",
                c -> ElementwiseOps.eltwise(
                        c, UnaryOp.Kind.ABS, 0, 0, Math::abs, c.need(0).type()));
        OPS.put("Sqrt", c -> ElementwiseOps.eltwise(c, UnaryOp.Kind.SQRT, 0, 0, Math::sqrt, OnnxGraph.FLOAT));
        OPS.put("Exp", c -> ElementwiseOps.eltwise(c, UnaryOp.Kind.EXP, 0, 0, Math::exp, OnnxGraph.FLOAT));
        OPS.put("Log", c -> ElementwiseOps.eltwise(c, UnaryOp.Kind.LOG, 0, 0, Math::log, OnnxGraph.FLOAT));
        OPS.put("Reciprocal", c -> ElementwiseOps.unary(c, x -> 1 / x, OnnxGraph.FLOAT));
        OPS.put("Erf", c -> ElementwiseOps.unary(c, Nd::erf, OnnxGraph.FLOAT));
        OPS.put("Floor", c -> ElementwiseOps.unary(c, Math::floor, c.need(0).type()));
        OPS.put("Ceil", c -> ElementwiseOps.unary(c, Math::ceil, c.need(0).type()));
        OPS.put("Not", c -> ElementwiseOps.unary(c, x -> x == 0 ? 1 : 0, OnnxGraph.BOOL));
        OPS.put("Cast", ElementwiseOps::cast);
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
        OPS.put("Shape", ShapeOps::shape);
        OPS.put("Size", c -> c.constOut(0, OnnxGraph.INT64, new long[0], new double[] {Nd.numel(c.shape(0))}));
        OPS.put("Constant", ShapeOps::constant);
        OPS.put("ConstantOfShape", ShapeOps::constantOfShape);
        OPS.put("Range", ShapeOps::range);
        OPS.put("Reshape", ShapeOps::reshape);
        OPS.put("Flatten", c -> {
            long[] s = c.shape(0);
            int axis = Nd.axis(c.i("axis", 1), s.length + 1, c.op());
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= s[i];
            }
            c.view(new long[] {outer, Nd.numel(s) / Math.max(outer, 1)});
        });
        OPS.put("Squeeze", ShapeOps::squeeze);
        OPS.put("Unsqueeze", ShapeOps::unsqueeze);
        OPS.put("Transpose", ShapeOps::transpose);
        OPS.put("Concat", ShapeOps::concat);
        OPS.put("Slice", ShapeOps::slice);
        OPS.put("Gather", ShapeOps::gather);
        OPS.put("Split", ShapeOps::split);
        OPS.put("Expand", ShapeOps::expand);
        OPS.put("Tile", ShapeOps::tile);
        OPS.put("ScatterND", ShapeOps::scatterNd);
        OPS.put("Pad", ShapeOps::pad);

        // ---- normalisation, reductions, attention ----
        OPS.put("Softmax", MatrixOps::softmax);
        OPS.put("LayerNormalization", MatrixOps::layerNorm);
        OPS.put("ReduceMean", c -> MatrixOps.reduce(c, "mean"));
        OPS.put("ReduceSum", c -> MatrixOps.reduce(c, "sum"));
        OPS.put("ReduceMax", c -> MatrixOps.reduce(c, "max"));
        OPS.put("ReduceMin", c -> MatrixOps.reduce(c, "min"));
        OPS.put("MatMul", MatrixOps::matmul);
        OPS.put(Fusions.MATMUL_BIAS, MatrixOps::matmulBias);
        OPS.put(Fusions.SILU, c -> ElementwiseOps.activation(c, new SiLU(), x -> x / (1 + Math.exp(-x))));
        OPS.put("Gemm", MatrixOps::gemm);

        // ---- convolutions and pooling ----
        OPS.put("Conv", ConvOps::conv);
        OPS.put("ConvTranspose", ConvOps::convTranspose);
        OPS.put("BatchNormalization", ConvOps::batchNorm);
        OPS.put("MaxPool", c -> ConvOps.pool(c, true));
        OPS.put("AveragePool", c -> ConvOps.pool(c, false));
        OPS.put("GlobalAveragePool", c -> ConvOps.globalPool(c, false));
        OPS.put("GlobalMaxPool", c -> ConvOps.globalPool(c, true));
        OPS.put("Resize", ConvOps::resize);

        // ---- quantized models (QDQ) ----
        OPS.put("QuantizeLinear", QuantOps::quantize);
        OPS.put("DequantizeLinear", QuantOps::dequantize);
        for (String op : OPS.keySet()) {
            if (!op.contains(".")) { // the library's own fused forms are not ONNX ops
                PUBLIC.add(op);
            }
        }
    }

    /** For messages: a short list of op types. */
    static String list() {
        return String.join(", ", supported());
    }
}
