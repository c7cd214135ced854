package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The QDQ form of a quantized model (QuantizeLinear and DequantizeLinear around a convolution, as ONNX Runtime's
 * {@code quantize_static} writes it: uint8 activations with a zero point, int8 weights with a scale per output
 * channel, an int32 bias whose scale is the input's times the weights') loads and runs on oneDNN, on the reference
 * backend and compiled, giving the values its quantized arithmetic defines, computed here independently: every
 * element within one step of the output's quantization, and all but a few (where the convolution's float32 sum lands
 * within a rounding of a half-way point) exactly. Misuses are refused when the model resolves its nodes (its first
 * run for an input shape), before any native call, with the rule and the values.
 */
class OnnxQdqTest {
    static final float SX = 0.02f;
    static final int ZX = 120;
    static final float SY = 0.05f;
    static final int ZY = 3;
    static final float[] SW = {0.04f, 0.004f, 0.0075f}; // channel 0 saturates at the top of uint8

    /** A tensor of integers of ONNX type {@code type} (2 uint8, 3 int8, 6 int32), raw little-endian. */
    static Onnx.TensorProto integers(String name, int type, long[] values, long... dims) {
        int size = type == 6 ? 4 : 1;
        ByteBuffer b = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            if (size == 4) {
                b.putInt((int) v);
            } else {
                b.put((byte) v);
            }
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder()
                .setName(name)
                .setDataType(type)
                .setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static Onnx.NodeProto node(String type, String out, String... in) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder()
                .setName(out + "_node")
                .setOpType(type)
                .addOutput(out);
        for (String i : in) {
            n.addInput(i);
        }
        return n.build();
    }

    static long[] weights() {
        SplittableRandom r = new SplittableRandom(5);
        long[] w = new long[3 * 2 * 3 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextInt(-127, 128);
        }
        return w;
    }

    static final long[] BIAS = {-900, 250, 4000};

    /** x[1, 2, 5, 5] -> Q/DQ (uint8) -> Conv(DQ(int8 w, per channel), DQ(int32 b)) pad 1 -> Q/DQ (uint8) -> y. */
    static Onnx.ModelProto.Builder model() {
        float[] sb = new float[3];
        for (int c = 0; c < 3; c++) {
            sb[c] = SX * SW[c];
        }
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .setName("qdq")
                .addInput(OnnxHostileFilesTest.info("x", 1, 2, 5, 5))
                .addOutput(OnnxHostileFilesTest.info("y", 1, 3, 5, 5))
                .addInitializer(OnnxHostileFilesTest.floats("sx", new float[] {SX}))
                .addInitializer(integers("zx", 2, new long[] {ZX}))
                .addInitializer(OnnxHostileFilesTest.floats("sy", new float[] {SY}))
                .addInitializer(integers("zy", 2, new long[] {ZY}))
                .addInitializer(integers("wq", 3, weights(), 3, 2, 3, 3))
                .addInitializer(OnnxHostileFilesTest.floats("sw", SW, 3))
                .addInitializer(integers("zw", 3, new long[3], 3))
                .addInitializer(integers("bq", 6, BIAS, 3))
                .addInitializer(OnnxHostileFilesTest.floats("sb", sb, 3))
                .addInitializer(integers("zb", 6, new long[3], 3))
                .addNode(node("QuantizeLinear", "xq", "x", "sx", "zx"))
                .addNode(node("DequantizeLinear", "xd", "xq", "sx", "zx"))
                .addNode(node("DequantizeLinear", "w", "wq", "sw", "zw").toBuilder()
                        .addAttribute(Onnx.AttributeProto.newBuilder()
                                .setName("axis")
                                .setType(Onnx.AttributeProto.AttributeType.INT)
                                .setI(0)))
                .addNode(node("DequantizeLinear", "b", "bq", "sb", "zb").toBuilder()
                        .addAttribute(Onnx.AttributeProto.newBuilder()
                                .setName("axis")
                                .setType(Onnx.AttributeProto.AttributeType.INT)
                                .setI(0)))
                .addNode(node("Conv", "c", "xd", "w", "b").toBuilder()
                        .addAttribute(OnnxHostileFilesTest.ints("pads", 1, 1, 1, 1))
                        .addAttribute(OnnxHostileFilesTest.ints("kernel_shape", 3, 3)))
                .addNode(node("QuantizeLinear", "cq", "c", "sy", "zy"))
                .addNode(node("DequantizeLinear", "y", "cq", "sy", "zy"));
        return Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g);
    }

    static float[] input() {
        SplittableRandom r = new SplittableRandom(9);
        float[] x = new float[50];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-2.6, 2.9); // beyond uint8's range at both ends: saturation
        }
        return x;
    }

    /** The integer {@code clamp(round(v / s) + z, lo, hi)}, the float32 quotient rounded half to even. */
    static double q(double v, float s, int z, int lo, int hi) {
        return Math.max(lo, Math.min(hi, Math.rint((float) (v / s)) + z));
    }

    /** The model's output as its arithmetic defines it, in plain loops (the convolution's sum in double). */
    static double[] expected(float[] x) {
        long[] wq = weights();
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xd[i] = (float) ((q(x[i], SX, ZX, 0, 255) - ZX) * SX);
        }
        double[] y = new double[3 * 25];
        // [1, 2, 5, 5] -> [1, 3, 5, 5], 3x3, padding 1
        for (int oc = 0; oc < 3; oc++) {
            float bias = BIAS[oc] * (SX * SW[oc]); // float32 arithmetic, as the file's float scale
            for (int oh = 0; oh < 5; oh++) {
                for (int ow = 0; ow < 5; ow++) {
                    double acc = bias + convolved(xd, wq, SW[oc], oc, oh, ow);
                    y[(oc * 5 + oh) * 5 + ow] = (float) ((q(acc, SY, ZY, 0, 255) - ZY) * SY);
                }
            }
        }
        return y;
    }

    /**
     * Output channel {@code oc} at {@code (oh, ow)} of the 3x3 convolution, padding 1, of the dequantized input
     * {@code xd} (2 channels of 5x5) by the file's weights {@code wq} times their channel's {@code scale}: the
     * products of float32 weights and inputs summed in double.
     */
    static double convolved(double[] xd, long[] wq, float scale, int oc, int oh, int ow) {
        double acc = 0;
        // [1, 2, 5, 5] -> one output element
        for (int ic = 0; ic < 2; ic++) {
            for (int kh = 0; kh < 3; kh++) {
                for (int kw = 0; kw < 3; kw++) {
                    int ih = oh + kh - 1;
                    int iw = ow + kw - 1;
                    if (ih >= 0 && ih < 5 && iw >= 0 && iw < 5) {
                        float w = wq[((oc * 2 + ic) * 3 + kh) * 3 + kw] * scale;
                        acc += (double) w * xd[(ic * 5 + ih) * 5 + iw];
                    }
                }
            }
        }
        return acc;
    }

    /** Every element within one output step of {@code want}, all but {@code allowed} exactly. */
    static void assertWithinOneStep(String what, float[] got, double[] want, int allowed) {
        int off = 0;
        for (int i = 0; i < got.length; i++) {
            double d = Math.abs(got[i] - want[i]);
            assertTrue(
                    d <= SY * 1.0001,
                    String.format(Locale.ROOT, "%s element %d: %s, expected %s", what, i, got[i], want[i]));
            off += d > 0 ? 1 : 0;
        }
        assertTrue(off <= allowed, what + ": " + off + " elements one step off, at most " + allowed + " expected");
    }

    @Test
    void aQdqConvolutionRunsItsQuantizedArithmeticOnEveryBackendAndCompiled() {
        float[] x = input();
        double[] want = expected(x);
        int zeros = 0;
        int saturated = 0;
        for (double v : want) {
            zeros += v == (0 - ZY) * SY ? 1 : 0;
            saturated += Math.abs(v - (255 - ZY) * SY) < 1e-6 ? 1 : 0;
        }
        assertTrue(zeros > 0 && zeros < want.length, "the case reaches the bottom of uint8's range: " + zeros);
        assertTrue(saturated > 0 && saturated < want.length, "and the top: " + saturated);
        try (OnnxModel m = OnnxModel.load(model().build().toByteArray());
                Tensor in = Tensor.of(x, 1, 2, 5, 5)) {
            m.eval();
            try (Tensor y = m.forward(in)) {
                assertWithinOneStep("oneDNN", y.toFloatArray(), want, 2);
            }
            m.to(Backend.REFERENCE);
            try (Tensor y = m.forward(in)) {
                assertWithinOneStep("reference", y.toFloatArray(), want, 2);
            }
            m.to(Backend.ONEDNN);
            try (CompiledModule c = m.compile(CompileOptions.forInput(1, 2, 5, 5));
                    Tensor y = c.forward(in)) {
                assertWithinOneStep("compiled", y.toFloatArray(), want, 2);
            }
            // int8: the input's zero point 120 with padding 1, the file's weights (no channel reaches 127) and
            // int32 bias, the output's zero point 3, saturation at both ends
            try (CompiledModule c =
                            m.compile(CompileOptions.forInput(1, 2, 5, 5).precision(Precision.INT8));
                    Tensor y = c.forward(in)) {
                assertTrue(c.toString().contains("Conv2d [acdb -> acdb, u8"), c.toString());
                assertWithinOneStep("int8", y.toFloatArray(), want, 2);
            }
        }
    }

    /**
     * x -> Q/DQ -> Conv (2 channels, no bias) -> Q/DQ with zero point 0 (a ReLU folded into the quantization, as
     * ONNX Runtime folds them) -> Add(that, x) -> Q/DQ -> y: compiled in int8, the addition is fused into the
     * convolution, and the ReLU and rounding of the convolution's output must stay (they are not stored).
     */
    static Onnx.ModelProto residualModel() {
        long[] wq = new long[2 * 2 * 9];
        System.arraycopy(weights(), 0, wq, 0, wq.length);
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .setName("qdq-residual")
                .addInput(OnnxHostileFilesTest.info("x", 1, 2, 5, 5))
                .addOutput(OnnxHostileFilesTest.info("y", 1, 2, 5, 5))
                .addInitializer(OnnxHostileFilesTest.floats("sx", new float[] {SX}))
                .addInitializer(integers("zx", 2, new long[] {ZX}))
                .addInitializer(OnnxHostileFilesTest.floats("sc", new float[] {SC}))
                .addInitializer(integers("zc", 2, new long[] {0}))
                .addInitializer(OnnxHostileFilesTest.floats("sy", new float[] {SY}))
                .addInitializer(integers("zy", 2, new long[] {ZY}))
                .addInitializer(integers("wq", 3, wq, 2, 2, 3, 3))
                .addInitializer(OnnxHostileFilesTest.floats("sw", new float[] {SW[1], SW[2]}, 2))
                .addNode(node("QuantizeLinear", "xq", "x", "sx", "zx"))
                .addNode(node("DequantizeLinear", "xd", "xq", "sx", "zx"))
                .addNode(node("DequantizeLinear", "w", "wq", "sw").toBuilder()
                        .addAttribute(Onnx.AttributeProto.newBuilder()
                                .setName("axis")
                                .setType(Onnx.AttributeProto.AttributeType.INT)
                                .setI(0)))
                .addNode(node("Conv", "c", "xd", "w").toBuilder()
                        .addAttribute(OnnxHostileFilesTest.ints("pads", 1, 1, 1, 1))
                        .addAttribute(OnnxHostileFilesTest.ints("kernel_shape", 3, 3)))
                .addNode(node("QuantizeLinear", "cq", "c", "sc", "zc"))
                .addNode(node("DequantizeLinear", "cd", "cq", "sc", "zc"))
                .addNode(node("Add", "a", "cd", "xd"))
                .addNode(node("QuantizeLinear", "aq", "a", "sy", "zy"))
                .addNode(node("DequantizeLinear", "y", "aq", "sy", "zy"));
        return Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g)
                .build();
    }

    static final float SC = 0.03f;

    @Test
    void aReluFoldedIntoAZeroPointSurvivesTheFusionOfTheResidualAdd() {
        float[] x = input();
        long[] wq = weights();
        float[] sw = {SW[1], SW[2]};
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xd[i] = (float) ((q(x[i], SX, ZX, 0, 255) - ZX) * SX);
        }
        double[] want = new double[x.length];
        int clamped = 0;
        // [1, 2, 5, 5] -> [1, 2, 5, 5], 3x3, padding 1, then the quantized ReLU, the residual, the output's rounding
        for (int oc = 0; oc < 2; oc++) {
            for (int oh = 0; oh < 5; oh++) {
                for (int ow = 0; ow < 5; ow++) {
                    double acc = convolved(xd, wq, sw[oc], oc, oh, ow);
                    clamped += acc < 0 ? 1 : 0;
                    int i = (oc * 5 + oh) * 5 + ow;
                    double relu = (float) (q(acc, SC, 0, 0, 255) * SC);
                    want[i] = (float) ((q((float) (relu + xd[i]), SY, ZY, 0, 255) - ZY) * SY);
                }
            }
        }
        assertTrue(clamped > 5, "the ReLU clamps some outputs: " + clamped);
        try (OnnxModel m = OnnxModel.load(residualModel().toByteArray());
                Tensor in = Tensor.of(x, 1, 2, 5, 5)) {
            try (Tensor y = m.forward(in)) {
                assertWithinOneStep("oneDNN", y.toFloatArray(), want, 2);
            }
            try (CompiledModule c =
                            m.compile(CompileOptions.forInput(1, 2, 5, 5).precision(Precision.INT8));
                    Tensor y = c.forward(in)) {
                String plan = c.toString();
                assertTrue(plan.contains("add("), "the addition is fused: " + plan);
                assertWithinOneStep("int8", y.toFloatArray(), want, 2);
            }
        }
    }

    /** The message of the refusal of the model edited by {@code edit}: when it resolves its nodes, at its first run. */
    static String refusal(UnaryOperator<Onnx.GraphProto.Builder> edit) {
        Onnx.ModelProto.Builder m = model();
        m.setGraph(edit.apply(m.getGraph().toBuilder()));
        try (OnnxModel model = OnnxModel.load(m.build().toByteArray());
                Tensor x = Tensor.of(input(), 1, 2, 5, 5)) {
            return assertThrows(
                            IllegalArgumentException.class,
                            () -> model.forward(x).close())
                    .getMessage();
        }
    }

    /** The index of the node writing {@code out}. */
    static int producer(Onnx.GraphProto.Builder g, String out) {
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getOutput(0).equals(out)) {
                return i;
            }
        }
        throw new IllegalStateException(out);
    }

    @Test
    void misusesAreRefusedWithTheRule() {
        String perAxis = refusal(g -> g.setInitializer(0, OnnxHostileFilesTest.floats("sx", new float[] {SX, SX}, 2))
                .setInitializer(1, integers("zx", 2, new long[] {ZX, ZX}, 2)));
        assertTrue(perAxis.contains("QuantizeLinear") && perAxis.contains("2 scales"), perAxis);
        String zeroScale = refusal(g -> g.setInitializer(2, OnnxHostileFilesTest.floats("sy", new float[] {0})));
        assertTrue(zeroScale.contains("positive") && zeroScale.contains("0.0"), zeroScale);
        String floatZero = refusal(g -> g.setInitializer(1, OnnxHostileFilesTest.floats("zx", new float[] {1})));
        assertTrue(floatZero.contains("zero point is float"), floatZero);
        String blocked = refusal(g -> g.setNode(
                producer(g, "xd"),
                g.getNode(producer(g, "xd")).toBuilder()
                        .addAttribute(Onnx.AttributeProto.newBuilder()
                                .setName("block_size")
                                .setType(Onnx.AttributeProto.AttributeType.INT)
                                .setI(4))));
        assertTrue(blocked.contains("block_size 4"), blocked);
        String wrongAxis = refusal(g -> g.setNode(
                producer(g, "w"),
                g.getNode(producer(g, "w")).toBuilder()
                        .setAttribute(
                                0,
                                g.getNode(producer(g, "w")).getAttribute(0).toBuilder()
                                        .setI(1))));
        assertTrue(wrongAxis.contains("axis 1, which has 2"), wrongAxis);
        String nan = refusal(g -> g.setInitializer(0, OnnxHostileFilesTest.floats("sx", new float[] {Float.NaN})));
        assertTrue(nan.contains("normal float32") && nan.contains("NaN"), nan);
        String tiny = refusal(g -> g.setInitializer(2, OnnxHostileFilesTest.floats("sy", new float[] {1e-40f})));
        assertTrue(tiny.contains("normal float32") && tiny.contains("E-41"), tiny);
        String mismatch = refusal(g -> g.setNode(
                producer(g, "xq"),
                g.getNode(producer(g, "xq")).toBuilder()
                        .addAttribute(Onnx.AttributeProto.newBuilder()
                                .setName("output_dtype")
                                .setType(Onnx.AttributeProto.AttributeType.INT)
                                .setI(3))));
        assertTrue(mismatch.contains("output_dtype is int8") && mismatch.contains("zero point is uint8"), mismatch);
    }
}
