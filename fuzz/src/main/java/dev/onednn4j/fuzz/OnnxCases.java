package dev.onednn4j.fuzz;

import com.google.protobuf.ByteString;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ONNX model cases. Valid: a random small graph (a chain of convolutions, activations, broadcasting adds and
 * multiplies, pooling, concatenations, a transpose-softmax-transpose, a final Gemm) built with the protobuf
 * classes, run eagerly on oneDNN, on the reference backend and compiled: the three must agree within 1e-4 of the
 * output's scale. Invalid: such a model's bytes truncated or with bytes flipped: it must be refused with a clear
 * exception when loaded or run, or, where the damage still leaves a valid model (a changed weight), run with the
 * three agreeing as above. Nothing may crash.
 */
final class OnnxCases {
    private OnnxCases() {}

    static final double TOLERANCE = 1e-4;

    /** A generated model: its bytes, its input shape and a description of its nodes. */
    @SuppressWarnings("ArrayRecordComponent") // generated data handed to one case, never compared
    record Model(byte[] bytes, long[] input, String description) {}

    static Model model(Gen g) {
        long[] s = {g.between(1, 2), g.between(1, 6), g.between(2, 9), g.between(2, 9)};
        long[] input = s.clone();
        Onnx.GraphProto.Builder graph =
                Onnx.GraphProto.newBuilder().setName("fuzz").addInput(info("x", s));
        List<String> ops = new ArrayList<>();
        String x = "x";
        int blocks = g.between(1, 5);
        int n = 0;
        for (int b = 0; b < blocks; b++) {
            String y = "v" + n++;
            int kind = g.between(0, 8);
            switch (kind) {
                case 0 -> { // convolution, maybe depthwise, maybe strided
                    long out = g.between(1, 8);
                    int k = g.pick(List.of(1, 3));
                    int stride = s[2] > 2 && s[3] > 2 && g.chance(0.3) ? 2 : 1;
                    boolean depthwise = g.chance(0.3);
                    long groups = depthwise ? s[1] : 1;
                    if (depthwise) {
                        out = s[1];
                    }
                    graph.addInitializer(floats("w" + n, g, out, s[1] / groups, k, k));
                    graph.addInitializer(floats("b" + n, g, out));
                    graph.addNode(node("Conv", List.of(x, "w" + n, "b" + n), y)
                            .addAttribute(ints("kernel_shape", k, k))
                            .addAttribute(ints("pads", k / 2, k / 2, k / 2, k / 2))
                            .addAttribute(ints("strides", stride, stride))
                            .addAttribute(intAttr("group", groups)));
                    s = new long[] {s[0], out, (s[2] - 1) / stride + 1, (s[3] - 1) / stride + 1};
                    ops.add("Conv(" + out + ", k" + k + ", s" + stride + (depthwise ? ", depthwise" : "") + ")");
                }
                case 1 -> {
                    String act = g.pick(List.of("Relu", "Sigmoid", "HardSwish", "Tanh", "LeakyRelu"));
                    Onnx.NodeProto.Builder nd = node(act, List.of(x), y);
                    if (act.equals("LeakyRelu")) {
                        nd.addAttribute(floatAttr("alpha", 0.1f));
                    }
                    graph.addNode(nd);
                    ops.add(act);
                }
                case 2 -> { // a per-channel constant, broadcast
                    String op = g.pick(List.of("Add", "Mul", "Sub", "Div"));
                    graph.addInitializer(floats("c" + n, g, 1, s[1], 1, 1));
                    graph.addNode(node(op, List.of(x, "c" + n), y));
                    ops.add(op + "(channel constant)");
                }
                case 3 -> { // the value with itself: a residual-like add, or a square
                    String op = g.pick(List.of("Add", "Mul"));
                    graph.addNode(node(op, List.of(x, x), y));
                    ops.add(op + "(x, x)");
                }
                case 4 -> {
                    if (s[2] < 2 || s[3] < 2) {
                        graph.addNode(node("Identity", List.of(x), y));
                        ops.add("Identity");
                    } else {
                        String op = g.pick(List.of("MaxPool", "AveragePool"));
                        graph.addNode(node(op, List.of(x), y)
                                .addAttribute(ints("kernel_shape", 2, 2))
                                .addAttribute(ints("strides", 2, 2)));
                        s = new long[] {s[0], s[1], s[2] / 2, s[3] / 2};
                        ops.add(op + "(2)");
                    }
                }
                case 5 -> {
                    graph.addNode(node("GlobalAveragePool", List.of(x), y));
                    s = new long[] {s[0], s[1], 1, 1};
                    ops.add("GlobalAveragePool");
                }
                case 6 -> {
                    graph.addNode(node("Concat", List.of(x, x), y).addAttribute(intAttr("axis", 1)));
                    s = new long[] {s[0], 2 * s[1], s[2], s[3]};
                    ops.add("Concat(x, x)");
                }
                case 7 -> { // NCHW -> NHWC, softmax over channels, back
                    String t1 = "t" + n++;
                    String t2 = "t" + n++;
                    graph.addNode(node("Transpose", List.of(x), t1).addAttribute(ints("perm", 0, 2, 3, 1)));
                    graph.addNode(node("Softmax", List.of(t1), t2).addAttribute(intAttr("axis", -1)));
                    graph.addNode(node("Transpose", List.of(t2), y).addAttribute(ints("perm", 0, 3, 1, 2)));
                    ops.add("Transpose-Softmax-Transpose");
                }
                default -> { // a slice of the channels
                    long keep = Math.max(1, s[1] / 2);
                    graph.addInitializer(longs("st" + n, 0));
                    graph.addInitializer(longs("en" + n, keep));
                    graph.addInitializer(longs("ax" + n, 1));
                    graph.addNode(node("Slice", List.of(x, "st" + n, "en" + n, "ax" + n), y));
                    s = new long[] {s[0], keep, s[2], s[3]};
                    ops.add("Slice(channels 0.." + keep + ")");
                }
            }
            x = y;
        }
        if (g.chance(0.5)) { // a classifier head
            long classes = g.between(1, 5);
            long features = s[1] * s[2] * s[3];
            graph.addNode(node("Flatten", List.of(x), "flat"));
            graph.addInitializer(floats("fc_w", g, classes, features));
            graph.addInitializer(floats("fc_b", g, classes));
            graph.addNode(node("Gemm", List.of("flat", "fc_w", "fc_b"), "y").addAttribute(intAttr("transB", 1)));
            s = new long[] {s[0], classes};
            ops.add("Flatten-Gemm(" + classes + ")");
        } else {
            graph.addNode(node("Identity", List.of(x), "y"));
        }
        graph.addOutput(info("y", s));
        Onnx.ModelProto m = Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("onednn4j fuzz")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(g.pick(List.of(13L, 17L))))
                .setGraph(graph)
                .build();
        return new Model(m.toByteArray(), input, "ONNX " + Arrays.toString(input) + " -> " + String.join(" -> ", ops));
    }

    static Made valid(Gen g) {
        Model m = model(g);
        long seed = g.nextLong();
        return new Made("OnnxModel", true, m.description(), trace -> judge(m.bytes(), m.input(), seed, false));
    }

    static Made invalid(Gen g) {
        Model m = model(g);
        byte[] bytes = m.bytes().clone();
        String how;
        if (g.chance(0.3)) {
            int len = g.between(0, bytes.length - 1);
            bytes = Arrays.copyOf(bytes, len);
            how = "truncated to " + len + " of " + m.bytes().length + " bytes";
        } else {
            how = replaceBytes(g, bytes);
        }
        byte[] damaged = bytes;
        long seed = g.nextLong();
        return new Made(
                "OnnxModel",
                false,
                "[damaged file: " + how + "] " + m.description() + "; expects a clear refusal, or agreeing results",
                trace -> judge(damaged, m.input(), seed, true));
    }

    /**
     * Loads {@code bytes} and runs it eagerly on oneDNN and on the reference backend and compiled; the three must
     * agree. With {@code damaged}, a refusal (an exception with a message, while loading or running) passes too.
     */
    static Verdict judge(byte[] bytes, long[] input, long seed, boolean damaged) throws Exception {
        OnnxModel model;
        try {
            model = OnnxModel.load(bytes);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return refused(e, damaged, "load");
        }
        try (model) {
            long[] shape = input;
            var in = model.inputs().get(0);
            if (in.shape() != null && in.shape().length == input.length) {
                shape = in.shape().clone();
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shape[i] < 0 || shape[i] > 16 ? input[i] : shape[i];
                }
            }
            float[] values = new float[(int) Arrays.stream(shape).reduce(1, Math::multiplyExact)];
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) r.nextDouble(-2, 2);
            }
            float[] dnnl;
            float[] ref;
            float[] compiled;
            try (Tensor x = Tensor.of(values, shape)) {
                try {
                    dnnl = run(model, x);
                    model.to(Backend.REFERENCE);
                    ref = run(model, x);
                    model.to(Backend.ONEDNN);
                    try (CompiledModule c = model.compile(CompileOptions.forInput(shape));
                            Tensor y = c.forward(x)) {
                        compiled = y.toFloatArray();
                    }
                } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
                    return refused(e, damaged, "run");
                }
            }
            double scale = 0;
            double errDnnl = 0;
            double errCompiled = 0;
            boolean nonFinite = false;
            for (int i = 0; i < ref.length; i++) {
                if (!Double.isFinite(ref[i]) || !Double.isFinite(dnnl[i]) || !Double.isFinite(compiled[i])) {
                    nonFinite = true;
                    continue;
                }
                scale = Math.max(scale, Math.abs(ref[i]));
                errDnnl = Math.max(errDnnl, Math.abs(dnnl[i] - ref[i]));
                errCompiled = Math.max(errCompiled, Math.abs(compiled[i] - ref[i]));
            }
            double bound = TOLERANCE * scale + 1e-6;
            String detail = String.format(
                    Locale.ROOT,
                    "eager oneDNN %.3g, compiled %.3g from the reference (bound " + "%.3g)",
                    errDnnl,
                    errCompiled,
                    bound);
            if (errDnnl > bound || errCompiled > bound) {
                return Verdict.wrong(detail);
            }
            return Verdict.pass(detail).withNonFinite(nonFinite);
        }
    }

    private static float[] run(OnnxModel model, Tensor x) {
        Map<String, Tensor> out = model.forward(Map.of(model.inputs().get(0).name(), x));
        try {
            return out.values().iterator().next().toFloatArray();
        } finally {
            out.values().forEach(Tensor::close);
        }
    }

    /** Replaces 1 to 4 random bytes of {@code bytes} with random values; says which. */
    static String replaceBytes(Gen g, byte[] bytes) {
        int flips = g.between(1, 4);
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < flips; i++) {
            int p = g.between(0, bytes.length - 1);
            bytes[p] = (byte) g.between(0, 255);
            at.append(i > 0 ? ", " : "").append(p);
        }
        return flips + " byte(s) replaced at " + at;
    }

    /**
     * The verdict on a refusal: wrong for a valid model; for a damaged one, a pass if it has a message, else an
     * unclear refusal (wrong).
     */
    static Verdict refused(RuntimeException e, boolean damaged, String when) {
        if (!damaged) {
            return Verdict.wrong("a valid model was refused at " + when + ": " + e);
        }
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            return Verdict.wrong("refused at " + when + " without a message: " + e);
        }
        return Verdict.pass("refused at " + when + ": " + e.getMessage());
    }

    // ---- protobuf helpers ----

    static Onnx.ValueInfoProto info(String name, long... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(Onnx.TypeProto.newBuilder()
                        .setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                                .setElemType(1)
                                .setShape(s)))
                .build();
    }

    static Onnx.TensorProto floats(String name, Gen g, long... dims) {
        int count = (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
        ByteBuffer b = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            b.putFloat((float) g.r.nextDouble(-1, 1));
        }
        Onnx.TensorProto.Builder t =
                Onnx.TensorProto.newBuilder().setName(name).setDataType(1).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static Onnx.TensorProto longs(String name, long... values) {
        return Onnx.TensorProto.newBuilder()
                .setName(name)
                .setDataType(7)
                .addDims(values.length)
                .addAllInt64Data(Arrays.stream(values).boxed().toList())
                .build();
    }

    static Onnx.NodeProto.Builder node(String op, List<String> inputs, String output) {
        return Onnx.NodeProto.newBuilder()
                .setOpType(op)
                .setName(op + "_" + output)
                .addAllInput(inputs)
                .addOutput(output);
    }

    static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a =
                Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder()
                .setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INT)
                .setI(v)
                .build();
    }

    static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder()
                .setName(name)
                .setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF(v)
                .build();
    }
}
