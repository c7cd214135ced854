package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The QOperator form of a quantized model: {@code QLinearConv} (and the ops that only move integers, here a
 * {@code MaxPool}) on the uint8 tensors themselves, rewritten at load into the QDQ form. The same convolution as
 * {@link OnnxQdqTest}'s, written as {@code QuantizeLinear -> QLinearConv -> MaxPool -> DequantizeLinear}, gives the
 * values its quantized arithmetic defines (computed independently, in plain loops) on oneDNN, the reference backend,
 * compiled, and compiled in int8; an operation that would compute on integers it cannot is refused at load, naming
 * the rule.
 */
class OnnxQOperatorTest {

    /** x[1, 2, 5, 5] -> Q (uint8) -> QLinearConv (int8 w per channel, int32 b) pad 1 -> [MaxPool 2x2 s1] -> DQ. */
    static Onnx.ModelProto model(boolean maxPool, String after) {
        long[] outDims = maxPool ? new long[] {1, 3, 4, 4} : new long[] {1, 3, 5, 5};
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .setName("qop")
                .addInput(OnnxHostileFilesTest.info("x", 1, 2, 5, 5))
                .addOutput(OnnxHostileFilesTest.info("y", outDims))
                .addInitializer(OnnxHostileFilesTest.floats("sx", new float[] {OnnxQdqTest.SX}))
                .addInitializer(OnnxQdqTest.integers("zx", 2, new long[] {OnnxQdqTest.ZX}))
                .addInitializer(OnnxHostileFilesTest.floats("sy", new float[] {OnnxQdqTest.SY}))
                .addInitializer(OnnxQdqTest.integers("zy", 2, new long[] {OnnxQdqTest.ZY}))
                .addInitializer(OnnxQdqTest.integers("wq", 3, OnnxQdqTest.weights(), 3, 2, 3, 3))
                .addInitializer(OnnxHostileFilesTest.floats("sw", OnnxQdqTest.SW, 3))
                .addInitializer(OnnxQdqTest.integers("zw", 3, new long[3], 3))
                .addInitializer(OnnxQdqTest.integers("bq", 6, OnnxQdqTest.BIAS, 3))
                .addNode(OnnxQdqTest.node("QuantizeLinear", "xq", "x", "sx", "zx"))
                .addNode(
                        OnnxQdqTest.node("QLinearConv", "cq", "xq", "sx", "zx", "wq", "sw", "zw", "sy", "zy", "bq")
                                .toBuilder()
                                .addAttribute(OnnxHostileFilesTest.ints("pads", 1, 1, 1, 1))
                                .addAttribute(OnnxHostileFilesTest.ints("kernel_shape", 3, 3)));
        String q = "cq";
        if (maxPool) {
            g.addNode(OnnxQdqTest.node("MaxPool", "pq", "cq").toBuilder()
                    .addAttribute(OnnxHostileFilesTest.ints("kernel_shape", 2, 2))
                    .addAttribute(OnnxHostileFilesTest.ints("strides", 1, 1)));
            q = "pq";
        }
        if (after != null) {
            g.addNode(OnnxQdqTest.node(after, "aq", q));
            q = "aq";
        }
        g.addNode(OnnxQdqTest.node("DequantizeLinear", "y", q, "sy", "zy"));
        return Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g)
                .build();
    }

    /** The 2x2, stride 1 maximum of {@code y} (3 channels of 5x5), in plain loops. */
    static double[] maxPooled(double[] y) {
        double[] p = new double[3 * 16];
        // [1, 3, 5, 5] -> [1, 3, 4, 4]
        for (int c = 0; c < 3; c++) {
            for (int h = 0; h < 4; h++) {
                for (int w = 0; w < 4; w++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int kh = 0; kh < 2; kh++) {
                        for (int kw = 0; kw < 2; kw++) {
                            m = Math.max(m, y[(c * 5 + h + kh) * 5 + w + kw]);
                        }
                    }
                    p[(c * 4 + h) * 4 + w] = m;
                }
            }
        }
        return p;
    }

    @Test
    void aQLinearConvAndAMaxPoolOnItsIntegersRunTheirQuantizedArithmeticEverywhere() {
        float[] x = OnnxQdqTest.input();
        for (boolean pool : new boolean[] {false, true}) {
            double[] want = pool ? maxPooled(OnnxQdqTest.expected(x)) : OnnxQdqTest.expected(x);
            long[] shape = pool ? new long[] {1, 3, 4, 4} : new long[] {1, 3, 5, 5};
            String what = pool ? "QLinearConv -> MaxPool" : "QLinearConv";
            try (OnnxModel m = OnnxModel.load(model(pool, null).toByteArray());
                    Tensor in = Tensor.of(x, 1, 2, 5, 5)) {
                try (Tensor y = m.forward(in)) {
                    assertTrue(java.util.Arrays.equals(shape, y.shape()), what + ": " + y);
                    OnnxQdqTest.assertWithinOneStep(what + ", oneDNN", y.toFloatArray(), want, 2);
                }
                m.to(Backend.REFERENCE);
                try (Tensor y = m.forward(in)) {
                    OnnxQdqTest.assertWithinOneStep(what + ", reference", y.toFloatArray(), want, 2);
                }
                m.to(Backend.ONEDNN);
                try (CompiledModule c = m.compile(CompileOptions.forInput(1, 2, 5, 5));
                        Tensor y = c.forward(in)) {
                    OnnxQdqTest.assertWithinOneStep(what + ", compiled", y.toFloatArray(), want, 2);
                }
                try (CompiledModule c =
                                m.compile(CompileOptions.forInput(1, 2, 5, 5).precision(Precision.INT8));
                        Tensor y = c.forward(in)) {
                    assertTrue(c.toString().contains("Conv2d [acdb -> acdb, u8"), c.toString());
                    OnnxQdqTest.assertWithinOneStep(what + ", int8", y.toFloatArray(), want, 2);
                }
            }
        }
    }

    @Test
    void anOpThatWouldComputeOnTheIntegersIsRefusedAtLoad() {
        String m = assertThrows(
                        IllegalArgumentException.class,
                        () -> OnnxModel.load(model(true, "Relu").toByteArray()))
                .getMessage();
        assertTrue(
                m.contains("node 'aq_node' (Relu) reads 'pq', a quantized (integer) tensor written by 'pq_node' "
                        + "(MaxPool)"),
                m);
        assertTrue(m.contains("QLinearConv") && m.contains("MaxPool, Reshape"), m);
        // a quantized operator onednn4j does not read: the unsupported-op refusal, with both lists
        Onnx.ModelProto softmax = model(true, "QLinearSoftmax").toBuilder()
                .setGraph(model(true, "QLinearSoftmax").getGraph().toBuilder()
                        .setNode(
                                3,
                                model(true, "QLinearSoftmax").getGraph().getNode(3).toBuilder()
                                        .setDomain("com.microsoft")))
                .build();
        m = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(softmax.toByteArray()))
                .getMessage();
        assertTrue(
                m.contains("uses op onednn4j does not support: com.microsoft.QLinearSoftmax (first at node 'aq_node'")
                        && m.contains("quantized operators (QOperator form): QLinearConv, QLinearMatMul, "
                                + "com.microsoft.QGemm"),
                m);
        // a move with a second output (MaxPool's indices)
        Onnx.ModelProto twoOutputs = model(true, null).toBuilder()
                .setGraph(model(true, null).getGraph().toBuilder()
                        .setNode(
                                2,
                                model(true, null).getGraph().getNode(2).toBuilder()
                                        .addOutput("indices")))
                .build();
        m = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(twoOutputs.toByteArray()))
                .getMessage();
        assertTrue(m.contains("'pq_node' (MaxPool)") && m.contains("has 2 outputs"), m);
    }

    /** Every prefix of the QOperator model and 1,500 random mutations of it: each loads or is refused cleanly. */
    @Test
    void truncationsAndBitFlipsOfAQOperatorModelAreRefusedCleanly() {
        byte[] valid = model(true, null).toByteArray();
        int[] counts = OnnxHostileFilesTest.mutated(valid, 1500, 23);
        System.out.printf(
                Locale.ROOT,
                "QOperator model mutations: %d cases, %d loaded, %d refused with a message%n",
                counts[0] + counts[1],
                counts[0],
                counts[1]);
        assertTrue(counts[0] > 50 && counts[1] > 50, counts[0] + " loaded, " + counts[1] + " refused");
    }

    @Test
    void malformedQLinearConvsAreRefusedWithTheRule() {
        // a scale that is computed, not a constant: the int32 bias's scale cannot be read from the file
        Onnx.ModelProto computedScale = model(false, null).toBuilder()
                .setGraph(model(false, null).getGraph().toBuilder()
                        .addNode(0, OnnxQdqTest.node("Identity", "sx2", "sx"))
                        .setNode(
                                2,
                                model(false, null).getGraph().getNode(1).toBuilder()
                                        .setInput(1, "sx2")))
                .build();
        String m = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(computedScale.toByteArray()))
                .getMessage();
        assertTrue(m.contains("'cq_node' (QLinearConv)") && m.contains("its scale 'sx2' is not a float constant"), m);
        // too few inputs
        Onnx.ModelProto missing = model(false, null).toBuilder()
                .setGraph(model(false, null).getGraph().toBuilder()
                        .setNode(1, OnnxQdqTest.node("QLinearConv", "cq", "xq", "sx", "zx", "wq")))
                .build();
        m = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(missing.toByteArray()))
                .getMessage();
        assertTrue(m.contains("it has 4 inputs; QLinearConv takes at least 7"), m);
        assertTrue(m.toLowerCase(Locale.ROOT).contains("opset 17"), m);
    }
}
