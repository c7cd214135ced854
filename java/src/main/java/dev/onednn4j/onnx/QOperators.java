package dev.onednn4j.onnx;

import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.onnx.OnnxGraph.Attribute;
import dev.onednn4j.internal.onnx.OnnxGraph.Node;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The QOperator form of a quantized model (ONNX Runtime's {@code quantize_static(..., QuantFormat.QOperator)}:
 * {@code QLinearConv}, {@code QLinearMatMul} and com.microsoft's {@code QLinearAdd}, {@code QGemm}, ...), rewritten at
 * load into the QDQ form the library runs ({@link QuantOps}): each quantized operation becomes DequantizeLinear of
 * its inputs, the float operation, and QuantizeLinear of its result with the node's own scales and zero points; an
 * int32 bias becomes DequantizeLinear with the scale the operation defines for it ({@code x_scale * w_scale}, per
 * output channel). Both forms then compute the same arithmetic, and {@code Precision.INT8} lowers both onto the same
 * int8 primitives.
 *
 * <p>The operations that only move or select integers ({@code MaxPool}, {@code Reshape}, {@code Flatten}, ...), which
 * QOperator files apply to quantized tensors directly, run between a DequantizeLinear and a QuantizeLinear with the
 * tensor's own quantization: exact, because they commute with the (monotonic, element-wise) dequantization. Any
 * other operation reading a quantized tensor is refused at load.
 */
final class QOperators {
    private QOperators() {}

    /** The QOperator types that are rewritten, as messages name them (com.microsoft's with their domain). */
    static final Set<String> SUPPORTED = new TreeSet<>(List.of(
            "QLinearConv",
            "QLinearMatMul",
            "com.microsoft.QGemm",
            "com.microsoft.QLinearAdd",
            "com.microsoft.QLinearMul",
            "com.microsoft.QLinearGlobalAveragePool",
            "com.microsoft.QLinearAveragePool",
            "com.microsoft.QLinearConcat",
            "com.microsoft.QLinearSigmoid",
            "com.microsoft.QLinearLeakyRelu"));

    /** Operations that move or select integers without computing on them: exact on dequantized values too. */
    private static final Set<String> MOVES = Set.of(
            "MaxPool",
            "GlobalMaxPool",
            "Flatten",
            "Reshape",
            "Transpose",
            "Squeeze",
            "Unsqueeze",
            "Identity",
            "Slice",
            "Split");

    /** A quantized tensor's scale and zero point: the names of the values holding them ("" for no zero point). */
    private record Quant(String scale, String zero) {}

    /** The rewritten graph, or {@code g} itself when it has no QOperator node. */
    static OnnxGraph toQdq(OnnxGraph g, String source) {
        boolean any = false;
        for (Node n : g.nodes()) {
            any |= SUPPORTED.contains(type(n));
        }
        if (!any) {
            return g;
        }
        return new Rewrite(g, source).run();
    }

    /** How messages name an op type: with its domain unless it is the default one. */
    private static String type(Node n) {
        boolean standard = n.domain().isEmpty() || n.domain().equals("ai.onnx");
        return standard ? n.opType() : n.domain() + "." + n.opType();
    }

    private static final class Rewrite {
        private final OnnxGraph g;
        private final String source;
        /** The constants read so far: initializers, Constant nodes' values. */
        private final Map<String, OnnxGraph.Data> constants;

        private final Map<String, Quant> quantized = new HashMap<>();
        private final Map<String, Node> producers = new HashMap<>();
        private final List<Node> nodes = new ArrayList<>();
        /** Every value name the file uses: new names avoid them. */
        private final Set<String> taken = new java.util.HashSet<>();

        private Node at;

        Rewrite(OnnxGraph g, String source) {
            this.g = g;
            this.source = source;
            this.constants = new HashMap<>(g.initializers());
            taken.addAll(g.initializers().keySet());
            g.inputs().forEach(v -> taken.add(v.name()));
            g.nodes().forEach(n -> taken.addAll(n.outputs()));
        }

        OnnxGraph run() {
            for (Node n : g.nodes()) {
                at = n;
                switch (type(n)) {
                    case "QLinearConv" -> conv(n);
                    case "QLinearMatMul" -> binary(n, "MatMul");
                    case "com.microsoft.QLinearAdd" -> binary(n, "Add");
                    case "com.microsoft.QLinearMul" -> binary(n, "Mul");
                    case "com.microsoft.QGemm" -> gemm(n);
                    case "com.microsoft.QLinearGlobalAveragePool" -> unary(n, "GlobalAveragePool");
                    case "com.microsoft.QLinearAveragePool" -> unary(n, "AveragePool");
                    case "com.microsoft.QLinearSigmoid" -> unary(n, "Sigmoid");
                    case "com.microsoft.QLinearLeakyRelu" -> unary(n, "LeakyRelu");
                    case "com.microsoft.QLinearConcat" -> concat(n);
                    case "QuantizeLinear" -> {
                        nodes.add(n);
                        if (n.outputs().size() == 1 && !in(n, 1).isEmpty()) {
                            quantized.put(n.outputs().get(0), new Quant(in(n, 1), in(n, 2)));
                        }
                    }
                    case "Constant" -> {
                        nodes.add(n);
                        Attribute value = n.attributes().get("value");
                        if (value != null && value.t() != null && n.outputs().size() == 1) {
                            constants.put(n.outputs().get(0), value.t());
                        }
                    }
                    default -> other(n);
                }
                for (String o : n.outputs()) {
                    producers.put(o, n);
                }
            }
            return new OnnxGraph(
                    g.opset(),
                    g.producer(),
                    List.copyOf(nodes),
                    g.initializers(),
                    g.inputs(),
                    g.outputs(),
                    g.metadata());
        }

        /**
         * {@code QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)}: the convolution of the
         * dequantized input and weights (per output channel where {@code w_scale} has one per channel), plus the bias
         * dequantized with {@code x_scale * w_scale}, quantized with {@code y_scale, y_zp}.
         */
        private void conv(Node n) {
            need(n, 7);
            String x = dequantized(n, 0, 1, 2, -1);
            String w = dequantized(n, 3, 4, 5, 0);
            List<String> inputs = new ArrayList<>(List.of(x, w));
            if (!in(n, 8).isEmpty()) {
                inputs.add(bias(n, 8, scales(n, 1), scales(n, 4), 1f));
            }
            quantizedResult(n, "Conv", inputs, n.attributes(), n.inputs().get(6), in(n, 7));
        }

        /**
         * com.microsoft's {@code QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp)}: Gemm of the
         * dequantized operands (B per column where {@code b_scale} has one per column), C (int32) dequantized with
         * {@code alpha / beta * a_scale * b_scale}; quantized with {@code y_scale, y_zp} where it has them, else the
         * float result.
         */
        private void gemm(Node n) {
            need(n, 6);
            Attribute transB = n.attributes().get("transB");
            boolean transposed = transB != null && transB.i() != 0;
            String a = dequantized(n, 0, 1, 2, -1);
            String b = dequantized(n, 3, 4, 5, transposed ? 0 : 1);
            List<String> inputs = new ArrayList<>(List.of(a, b));
            if (!in(n, 6).isEmpty()) {
                float alpha = floatAttr(n, "alpha", 1f);
                float beta = floatAttr(n, "beta", 1f);
                if (beta == 0f) {
                    throw error("its beta is 0 but it has a bias C: C's scale (alpha / beta * a_scale * b_scale) is "
                            + "not defined");
                }
                inputs.add(bias(n, 6, scales(n, 1), scales(n, 4), alpha / beta));
            }
            Map<String, Attribute> attrs = new LinkedHashMap<>(n.attributes());
            if (in(n, 7).isEmpty()) {
                nodes.add(node(n, "Gemm", "", inputs, n.outputs(), attrs)); // float output
            } else {
                quantizedResult(n, "Gemm", inputs, attrs, n.inputs().get(7), in(n, 8));
            }
        }

        /**
         * {@code (A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp)}: a binary op of the dequantized inputs (a
         * MatMul's B per column where its scale has one per column).
         */
        private void binary(Node n, String op) {
            need(n, 7);
            String a = dequantized(n, 0, 1, 2, -1);
            String b = dequantized(n, 3, 4, 5, op.equals("MatMul") ? -2 : -1);
            quantizedResult(n, op, List.of(a, b), Map.of(), n.inputs().get(6), in(n, 7));
        }

        /** {@code (X, X_scale, X_zp, Y_scale, Y_zp)} with the op's own attributes. */
        private void unary(Node n, String op) {
            need(n, 4);
            Attribute channelsLast = n.attributes().get("channels_last");
            if (channelsLast != null && channelsLast.i() != 0) {
                throw error("channels_last=1 (an NHWC tensor) is not supported; channels_last=0 (NCHW) is");
            }
            Map<String, Attribute> attrs = new LinkedHashMap<>(n.attributes());
            attrs.remove("channels_last");
            String x = dequantized(n, 0, 1, 2, -1);
            quantizedResult(n, op, List.of(x), attrs, n.inputs().get(3), in(n, 4));
        }

        /** {@code (Y_scale, Y_zp, X1, X1_scale, X1_zp, ...)}: Concat of the dequantized inputs. */
        private void concat(Node n) {
            if (n.inputs().size() < 5 || (n.inputs().size() - 2) % 3 != 0) {
                throw error(String.format(
                        Locale.ROOT,
                        "it has %d inputs: QLinearConcat takes Y_scale, Y_zero_point, then a (tensor, scale, zero "
                                + "point) triple per input",
                        n.inputs().size()));
            }
            List<String> parts = new ArrayList<>();
            for (int i = 2; i < n.inputs().size(); i += 3) {
                parts.add(dequantized(n, i, i + 1, i + 2, -1));
            }
            quantizedResult(n, "Concat", parts, n.attributes(), n.inputs().get(0), in(n, 1));
        }

        /**
         * Any other node: as it is where it reads no quantized tensor; between a DequantizeLinear and a
         * QuantizeLinear with its input's quantization where it only moves integers; refused otherwise.
         */
        private void other(Node n) {
            if (!type(n).equals(n.opType()) || !OnnxOps.supported().contains(n.opType())) {
                nodes.add(n); // an op onednn4j does not run: refused at load with the supported list
                return;
            }
            Quant q = null;
            for (int i = 0; i < n.inputs().size(); i++) {
                Quant qi = quantized.get(n.inputs().get(i));
                if (qi == null || (n.opType().equals("DequantizeLinear") && i == 0)) {
                    continue;
                }
                boolean moves = MOVES.contains(type(n)) && i == 0;
                if (!moves) {
                    Node p = producers.get(n.inputs().get(i));
                    throw error(String.format(
                            Locale.ROOT,
                            "node %s reads '%s', a quantized (integer) tensor written by %s: onednn4j runs quantized "
                                    + "tensors through the QOperator ops (%s), DequantizeLinear, and the ops that only "
                                    + "move integers (%s)",
                            n.describe(),
                            n.inputs().get(i),
                            p == null ? "the file" : p.describe(),
                            String.join(", ", SUPPORTED),
                            String.join(", ", new TreeSet<>(MOVES))));
                }
                q = qi;
            }
            if (q == null) {
                nodes.add(n);
                return;
            }
            if (n.outputs().size() > 1 && !n.opType().equals("Split")) {
                throw error("it reads a quantized tensor and has " + n.outputs().size() + " outputs (e.g. MaxPool's "
                        + "indices); onednn4j moves quantized tensors through ops with one output");
            }
            List<String> inputs = new ArrayList<>(n.inputs());
            inputs.set(0, dequantize(n, n.inputs().get(0), q.scale(), q.zero(), -1, "x"));
            List<String> floats = new ArrayList<>();
            for (String o : n.outputs()) {
                floats.add(o.isEmpty() ? o : fresh(n, o + " float"));
            }
            nodes.add(node(n, n.opType(), n.domain(), inputs, floats, n.attributes()));
            for (int k = 0; k < floats.size(); k++) {
                if (!floats.get(k).isEmpty()) {
                    quantize(n, floats.get(k), q, n.outputs().get(k));
                }
            }
        }

        /** Adds {@code op} over {@code inputs}, then QuantizeLinear of its result into {@code n}'s output. */
        private void quantizedResult(
                Node n, String op, List<String> inputs, Map<String, Attribute> attrs, String scale, String zero) {
            if (n.outputs().size() != 1) {
                throw error("it has " + n.outputs().size() + " outputs; it has one");
            }
            String y = fresh(n, "y float");
            nodes.add(node(n, op, "", inputs, List.of(y), attrs));
            quantize(n, y, new Quant(scale, zero), n.outputs().get(0));
        }

        private void quantize(Node n, String x, Quant q, String out) {
            List<String> inputs = q.zero().isEmpty() ? List.of(x, q.scale()) : List.of(x, q.scale(), q.zero());
            nodes.add(node(n, "QuantizeLinear", "", inputs, List.of(out), Map.of()));
            quantized.put(out, q);
        }

        /**
         * DequantizeLinear of input {@code value} with the scale and zero point inputs that follow it; {@code axis}
         * the axis of per-channel scales (-1: none, one scale; -2: the last axis, a matrix's columns).
         */
        private String dequantized(Node n, int value, int scale, int zero, int axis) {
            return dequantize(n, in(n, value), in(n, scale), in(n, zero), axis, "input " + value);
        }

        private String dequantize(Node n, String x, String scale, String zero, int axis, String what) {
            String out = fresh(n, what + " float");
            List<String> inputs = zero.isEmpty() ? List.of(x, scale) : List.of(x, scale, zero);
            Map<String, Attribute> attrs = Map.of();
            if (axis != -1 && scales(scale).length > 1) {
                long a = axis;
                if (axis == -2) {
                    OnnxGraph.Data w = constants.get(x);
                    if (w == null) {
                        throw error("its input '" + x + "' has per-column scales but is not a constant: per-axis "
                                + "scales are supported for constants (weights)");
                    }
                    a = w.shape().length - 1L;
                }
                attrs = Map.of("axis", intAttr("axis", a));
            }
            nodes.add(node(n, "DequantizeLinear", "", inputs, List.of(out), attrs));
            return out;
        }

        /**
         * An int32 bias dequantized with the scale the operation defines for it: {@code factor * s1 * s2} (float32
         * products, as ONNX Runtime computes them), per element of {@code s2} where it has several.
         */
        private String bias(Node n, int input, float[] s1, float[] s2, float factor) {
            if (s1.length != 1) {
                throw error("its input's scale has " + s1.length + " values; it must have one (per tensor)");
            }
            float[] scale = new float[s2.length];
            for (int k = 0; k < scale.length; k++) {
                scale[k] = factor * s1[0] * s2[k];
            }
            String name = fresh(n, "bias scale");
            long[] shape = scale.length == 1 ? new long[0] : new long[] {scale.length};
            OnnxGraph.Data data = new OnnxGraph.Data(name, OnnxGraph.FLOAT, shape, scale, null);
            constants.put(name, data);
            Attribute value = new Attribute(
                    "value", Attribute.Type.TENSOR, 0f, 0, "", data, new float[0], new long[0], List.of());
            nodes.add(node(n, "Constant", "", List.of(), List.of(name), Map.of("value", value)));
            String out = fresh(n, "bias float");
            Map<String, Attribute> attrs = scale.length == 1 ? Map.of() : Map.of("axis", intAttr("axis", 0));
            nodes.add(node(n, "DequantizeLinear", "", List.of(in(n, input), name), List.of(out), attrs));
            return out;
        }

        private float[] scales(Node n, int input) {
            return scales(in(n, input));
        }

        /** A scale's values: it must be a float constant (an initializer or a Constant node's value). */
        private float[] scales(String name) {
            OnnxGraph.Data d = name.isEmpty() ? null : constants.get(name);
            if (d == null || d.floats() == null || d.floats().length == 0) {
                throw error("its scale '" + name + "' is not a float constant (an initializer or a Constant): "
                        + "onednn4j reads QOperator scales from the file");
            }
            return d.floats();
        }

        private void need(Node n, int inputs) {
            if (n.inputs().size() < inputs) {
                throw error(String.format(
                        Locale.ROOT,
                        "it has %d inputs; %s takes at least %d",
                        n.inputs().size(),
                        n.opType(),
                        inputs));
            }
            for (int i = 0; i < inputs; i++) {
                if (i % 3 != 2 && in(n, i).isEmpty()) { // zero points (every third input) may be left out
                    throw error("its input " + i + " is missing");
                }
            }
        }

        private static String in(Node n, int i) {
            return i < n.inputs().size() ? n.inputs().get(i) : "";
        }

        private String fresh(Node n, String what) {
            String base = (n.name().isEmpty() ? "#" + n.index() : n.name()) + " (" + what + ")";
            String name = base;
            for (int k = 2; !taken.add(name); k++) {
                name = base + " " + k;
            }
            return name;
        }

        private static Node node(
                Node of,
                String op,
                String domain,
                List<String> inputs,
                List<String> outputs,
                Map<String, Attribute> a) {
            String name = (of.name().isEmpty() ? "#" + of.index() : of.name()) + "/" + op + " -> " + outputs.get(0);
            return new Node(of.index(), name, op, domain, List.copyOf(inputs), List.copyOf(outputs), Map.copyOf(a));
        }

        private static Attribute intAttr(String name, long value) {
            return new Attribute(name, Attribute.Type.INT, 0f, value, "", null, new float[0], new long[0], List.of());
        }

        private static float floatAttr(Node n, String name, float otherwise) {
            Attribute a = n.attributes().get(name);
            return a == null ? otherwise : a.f();
        }

        private IllegalArgumentException error(String rule) {
            return new IllegalArgumentException(String.format(
                    Locale.ROOT, "the ONNX model %s: node %s (opset %d): %s", source, at.describe(), g.opset(), rule));
        }
    }
}
