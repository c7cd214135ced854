package dev.onednn4j.fuzz;

import com.google.protobuf.ByteString;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * int8 cases: one quantized convolution layer as ONNX Runtime writes it, in the QDQ form ({@code QuantizeLinear} and
 * {@code DequantizeLinear} around a {@code Conv}) or the QOperator form ({@code QLinearConv}), with what oneDNN fuses
 * into it: an int32 bias, a ReLU folded into a zero point of 0, a residual addition of a max pooling of its input
 * ({@code Add} of the dequantized tensors, com.microsoft's {@code QLinearAdd}), a max pooling of its integers. Random shapes (depthwise, strided,
 * 1x1), uint8 activations with any zero point or int8 ones, int8 weights per channel or per tensor, random scales.
 *
 * <p>Valid: compiled with {@code Precision.INT8} (oneDNN's int8 kernels, with the file's scales and zero points) and
 * run eagerly on oneDNN in float32, each checked against the reference backend (plain Java loops computing the
 * file's quantized arithmetic): every output element within one step of the output's quantization, benchdnn's rule
 * for int8 (a float32 sum within a rounding of a half-way point may round either way). The residual's inner step is
 * at most its output's, so that the one-step rule holds through it. On a CPU without VNNI, where oneDNN keeps the
 * weights to 7 bits, the weights are even (their 7-bit form is exact). Invalid: such a model's bytes damaged: a clear
 * refusal, or a run. Nothing may crash.
 */
final class Int8Cases {
    private Int8Cases() {}

    /** ONNX's element types. */
    private static final int UINT8 = 2;

    private static final int INT8 = 3;
    private static final int INT32 = 6;

    /** A generated model: its bytes, its input shape, its output's step and a description. */
    @SuppressWarnings("ArrayRecordComponent") // generated data handed to one case, never compared
    record Model(byte[] bytes, long[] input, double step, String description) {}

    static Model model(Gen g, boolean vnni) {
        boolean qop = g.chance(0.5);
        boolean signed = g.chance(0.3);
        int actType = signed ? INT8 : UINT8;
        int kind = g.between(0, 2); // 0 a convolution, 1 a residual block, 2 a convolution and a max pooling
        long n = g.between(1, 2);
        long c = g.between(1, 12);
        long h = g.between(kind == 2 ? 2 : 1, 9);
        long w = g.between(kind == 2 ? 2 : 1, 9);
        boolean depthwise = c > 1 && g.chance(0.25);
        long oc = kind == 1 || depthwise ? c : g.between(1, 12);
        long groups = depthwise ? c : 1;
        int k = h >= 3 && w >= 3 && g.chance(0.6) ? 3 : 1;
        int stride = kind != 1 && h >= 3 && w >= 3 && g.chance(0.3) ? 2 : 1;
        int pad = k / 2;
        long oh = (h + 2L * pad - k) / stride + 1;
        long ow = (w + 2L * pad - k) / stride + 1;
        if (kind == 2 && (oh < 2 || ow < 2)) {
            kind = 0;
        }
        float sx = (float) uniform(g, 0.008, 0.04);
        int zx = signed ? 0 : g.between(0, 255);
        boolean perChannel = oc > 1 && g.chance(0.7);
        float[] sw = new float[perChannel ? (int) oc : 1];
        for (int i = 0; i < sw.length; i++) {
            sw[i] = (float) uniform(g, 0.002, 0.03);
        }
        long[] wq = new long[(int) (oc * (c / groups) * k * k)];
        for (int i = 0; i < wq.length; i++) {
            wq[i] = vnni ? g.between(-127, 127) : 2L * g.between(-63, 63);
        }
        boolean bias = g.chance(0.7);
        long[] bq = new long[(int) oc];
        for (int i = 0; i < bq.length; i++) {
            bq[i] = g.between(-3000, 3000);
        }
        float sy = (float) uniform(g, 0.02, 0.3);
        boolean relu = !signed && g.chance(0.4);
        int zy = signed || relu ? 0 : g.between(0, 255);
        float sr = (float) (sy * uniform(g, 1, 2)); // the residual's output step: at least the convolution's
        int zr = signed ? 0 : g.between(0, 255);

        Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder()
                .setName("int8 fuzz")
                .addInput(OnnxCases.info("x", n, c, h, w))
                .addInitializer(floats("sx", sx))
                .addInitializer(integers("zx", actType, new long[] {zx}))
                .addInitializer(floats("sy", sy))
                .addInitializer(integers("zy", actType, new long[] {zy}))
                .addInitializer(integers("wq", INT8, wq, oc, c / groups, k, k))
                .addInitializer(floats("sw", sw, perChannel ? new long[] {oc} : new long[0]))
                .addInitializer(integers("zw", INT8, new long[sw.length], perChannel ? new long[] {oc} : new long[0]));
        if (bias) {
            graph.addInitializer(integers("bq", INT32, bq, oc));
        }
        graph.addNode(OnnxCases.node("QuantizeLinear", List.of("x", "sx", "zx"), "xq"));
        List<Onnx.AttributeProto> convAttrs = List.of(
                OnnxCases.ints("kernel_shape", k, k),
                OnnxCases.ints("pads", pad, pad, pad, pad),
                OnnxCases.ints("strides", stride, stride),
                OnnxCases.intAttr("group", groups));
        if (qop) {
            List<String> in = new ArrayList<>(List.of("xq", "sx", "zx", "wq", "sw", "zw", "sy", "zy"));
            if (bias) {
                in.add("bq");
            }
            graph.addNode(OnnxCases.node("QLinearConv", in, "cq").addAllAttribute(convAttrs));
        } else {
            float[] sb = new float[sw.length];
            for (int i = 0; i < sb.length; i++) {
                sb[i] = sx * sw[i]; // float32, as the file's own scales
            }
            graph.addNode(OnnxCases.node("DequantizeLinear", List.of("xq", "sx", "zx"), "xd"));
            graph.addNode(OnnxCases.node("DequantizeLinear", List.of("wq", "sw", "zw"), "wd")
                    .addAttribute(OnnxCases.intAttr("axis", 0)));
            List<String> in = new ArrayList<>(List.of("xd", "wd"));
            if (bias) {
                graph.addInitializer(floats("sb", sb, perChannel ? new long[] {oc} : new long[0]));
                graph.addNode(OnnxCases.node("DequantizeLinear", List.of("bq", "sb"), "bd")
                        .addAttribute(OnnxCases.intAttr("axis", 0)));
                in.add("bd");
            }
            graph.addNode(OnnxCases.node("Conv", in, "c").addAllAttribute(convAttrs));
            graph.addNode(OnnxCases.node("QuantizeLinear", List.of("c", "sy", "zy"), "cq"));
        }
        String out = "cq";
        String scale = "sy";
        String zero = "zy";
        double step = sy;
        long[] shape = {n, oc, oh, ow};
        String what = kind == 1 ? "residual " : kind == 2 ? "conv + maxpool " : "conv ";
        if (kind == 1) {
            // the skip: a 3x3 max pooling (stride 1) of the quantized input, so that the convolution's sum reads a
            // tensor of another step (a block whose fused convolution reads its own residual runs in float32: the
            // sum would overwrite what the convolution reads)
            graph.addInitializer(floats("sr", sr)).addInitializer(integers("zr", actType, new long[] {zr}));
            List<Onnx.AttributeProto> skipAttrs = List.of(
                    OnnxCases.ints("kernel_shape", 3, 3),
                    OnnxCases.ints("pads", 1, 1, 1, 1),
                    OnnxCases.ints("strides", 1, 1));
            maxPool(graph, qop, "xq", "sx", "zx", skipAttrs, "mq");
            if (qop) {
                graph.addNode(
                        OnnxCases.node("QLinearAdd", List.of("cq", "sy", "zy", "mq", "sx", "zx", "sr", "zr"), "rq")
                                .setDomain("com.microsoft"));
            } else {
                graph.addNode(OnnxCases.node("DequantizeLinear", List.of("mq", "sx", "zx"), "md"));
                graph.addNode(OnnxCases.node("DequantizeLinear", List.of("cq", "sy", "zy"), "cd"));
                graph.addNode(OnnxCases.node("Add", List.of("cd", "md"), "r"));
                graph.addNode(OnnxCases.node("QuantizeLinear", List.of("r", "sr", "zr"), "rq"));
            }
            // and a step after the block (the tensor before the graph's output keeps its own rounding, so a block
            // that writes it is not fused in int8: a block that is followed by more layers is)
            maxPool(graph, qop, "rq", "sr", "zr", skipAttrs, "aq");
            out = "aq";
            scale = "sr";
            zero = "zr";
            step = sr;
        } else if (kind == 2) {
            List<Onnx.AttributeProto> poolAttrs =
                    List.of(OnnxCases.ints("kernel_shape", 2, 2), OnnxCases.ints("strides", 2, 2));
            maxPool(graph, qop, "cq", "sy", "zy", poolAttrs, "pq");
            out = "pq";
            shape = new long[] {n, oc, oh / 2, ow / 2};
        }
        graph.addNode(OnnxCases.node("DequantizeLinear", List.of(out, scale, zero), "y"));
        graph.addOutput(OnnxCases.info("y", shape));
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("onednn4j fuzz")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(graph);
        if (qop) {
            m.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder()
                    .setDomain("com.microsoft")
                    .setVersion(1));
        }
        String description = String.format(
                Locale.ROOT,
                "int8 %s%s[%d, %d, %d, %d] -> %d, k%d s%d%s, %s x (zero point %d), weights %s%s%s, y step %.4g "
                        + "(zero point %d)%s",
                qop ? "QOperator " : "QDQ ",
                what,
                n,
                c,
                h,
                w,
                oc,
                k,
                stride,
                depthwise ? " depthwise" : "",
                signed ? "s8" : "u8",
                zx,
                perChannel ? "per channel" : "per tensor",
                bias ? ", int32 bias" : "",
                relu ? ", ReLU (zero point 0)" : "",
                sy,
                zy,
                kind == 1
                        ? String.format(
                                Locale.ROOT,
                                ", plus MaxPool(3, 1, 1) of x, sum step %.4g (zero point %d), MaxPool(3, 1, 1)",
                                sr,
                                zr)
                        : "");
        return new Model(m.build().toByteArray(), new long[] {n, c, h, w}, step, description);
    }

    /**
     * A max pooling of the quantized tensor {@code q} into {@code out}, quantized as {@code q}: on the integers
     * (QOperator), or between a DequantizeLinear and a QuantizeLinear (QDQ).
     */
    private static void maxPool(
            Onnx.GraphProto.Builder graph,
            boolean qop,
            String q,
            String scale,
            String zero,
            List<Onnx.AttributeProto> attrs,
            String out) {
        if (qop) {
            graph.addNode(OnnxCases.node("MaxPool", List.of(q), out).addAllAttribute(attrs));
        } else {
            graph.addNode(OnnxCases.node("DequantizeLinear", List.of(q, scale, zero), q + " float"));
            graph.addNode(OnnxCases.node("MaxPool", List.of(q + " float"), out + " float")
                    .addAllAttribute(attrs));
            graph.addNode(OnnxCases.node("QuantizeLinear", List.of(out + " float", scale, zero), out));
        }
    }

    static Made valid(Gen g) {
        Model m = model(g, FuzzBridge.int8Vnni());
        long seed = g.nextLong();
        return new Made("OnnxModel int8", true, m.description(), trace -> judge(m, m.bytes(), seed, false));
    }

    static Made invalid(Gen g) {
        Model m = model(g, FuzzBridge.int8Vnni());
        byte[] bytes = m.bytes().clone();
        String how = OnnxCases.replaceBytes(g, bytes);
        long seed = g.nextLong();
        return new Made(
                "OnnxModel int8",
                false,
                "[damaged file: " + how + "] " + m.description() + "; expects a clear refusal, or a run",
                trace -> judge(m, bytes, seed, true));
    }

    /**
     * Loads {@code bytes}, runs it on the reference backend, eagerly on oneDNN and compiled in int8: the latter two
     * within one output step of the reference on every element. A damaged file passes if it is refused with a
     * message or runs (its numbers are not checked: its scales may be anything).
     */
    static Verdict judge(Model m, byte[] bytes, long seed, boolean damaged) {
        OnnxModel model;
        try {
            model = OnnxModel.load(bytes);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return OnnxCases.refused(e, damaged, "load");
        }
        try (model) {
            float[] values = new float[(int) Arrays.stream(m.input()).reduce(1, Math::multiplyExact)];
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) r.nextDouble(-2.5, 2.5); // beyond the input's range at times: saturation
            }
            float[] ref;
            float[] eager;
            float[] int8;
            String kernel;
            String plan;
            try (Tensor x = Tensor.of(values, m.input())) {
                try {
                    model.to(Backend.REFERENCE);
                    try (Tensor y = model.forward(x)) {
                        ref = y.toFloatArray();
                    }
                    model.to(Backend.ONEDNN);
                    try (Tensor y = model.forward(x)) {
                        eager = y.toFloatArray();
                    }
                    try (CompiledModule c = model.compile(
                                    CompileOptions.forInput(m.input()).precision(Precision.INT8));
                            Tensor y = c.forward(x)) {
                        int8 = y.toFloatArray();
                        plan = c.toString();
                        kernel = int8Kernel(plan);
                    }
                } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
                    return OnnxCases.refused(e, damaged, "run");
                }
            }
            if (damaged) {
                return Verdict.pass("a damaged file ran");
            }
            if (kernel == null) {
                return Verdict.wrong("compiled in int8, the convolution did not run on an int8 kernel: " + plan);
            }
            String e1 = outside("eager oneDNN", eager, ref, m.step());
            String e2 = outside("int8 (" + kernel + ")", int8, ref, m.step());
            if (e1 != null || e2 != null) {
                return Verdict.wrong(e1 != null ? e1 : e2);
            }
            return Verdict.pass(String.format(
                    Locale.ROOT,
                    "int8 (%s) %d of %d exact, eager oneDNN %d of %d exact, all within one step of the reference",
                    kernel,
                    exact(int8, ref),
                    ref.length,
                    exact(eager, ref),
                    ref.length));
        }
    }

    /** The kernel of the plan's first int8 convolution step ("name, u8 -> s8"), or null if it has none. */
    private static String int8Kernel(String plan) {
        for (String line : plan.split("\n", -1)) {
            int at = line.indexOf("Conv2d");
            if (at >= 0 && (line.contains(", u8") || line.contains(", s8"))) {
                return line.substring(line.lastIndexOf(": ") + 2).strip();
            }
        }
        return null;
    }

    /** Null if every element of {@code got} is within one {@code step} of {@code want}, else the first that is not. */
    private static String outside(String what, float[] got, float[] want, double step) {
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= step * 1.001)) {
                return String.format(
                        Locale.ROOT,
                        "%s element %d: %s, the reference %s: %.3g steps of %.4g apart",
                        what,
                        i,
                        got[i],
                        want[i],
                        Math.abs(got[i] - want[i]) / step,
                        step);
            }
        }
        return null;
    }

    private static int exact(float[] got, float[] want) {
        int same = 0;
        for (int i = 0; i < want.length; i++) {
            same += got[i] == want[i] ? 1 : 0;
        }
        return same;
    }

    private static double uniform(Gen g, double lo, double hi) {
        return lo + (hi - lo) * g.r.nextDouble();
    }

    private static Onnx.TensorProto floats(String name, float value) {
        return floats(name, new float[] {value}, new long[0]);
    }

    private static Onnx.TensorProto floats(String name, float[] values, long[] dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return tensor(name, 1, b.array(), dims);
    }

    /** Integers of ONNX type {@code type} (uint8, int8, int32), raw little-endian. */
    private static Onnx.TensorProto integers(String name, int type, long[] values, long... dims) {
        int size = type == INT32 ? 4 : 1;
        ByteBuffer b = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            if (size == 4) {
                b.putInt((int) v);
            } else {
                b.put((byte) v);
            }
        }
        return tensor(name, type, b.array(), dims);
    }

    private static Onnx.TensorProto tensor(String name, int type, byte[] raw, long[] dims) {
        Onnx.TensorProto.Builder t =
                Onnx.TensorProto.newBuilder().setName(name).setDataType(type).setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }
}
