package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Quantized models as ONNX Runtime's own {@code quantize_static} writes them ({@code scripts/make-quantized-fixtures}:
 * QDQ, uint8 activations with zero points, int8 weights per channel, int32 biases, every ReLU folded into a zero
 * point of 0), against ONNX Runtime's outputs on the same inputs (its integer kernels: QLinearConv, QLinearAdd,
 * QGemm). The rule held: every output element within one step of the output's quantization (the scale of the final
 * DequantizeLinear), and 99% of them exactly; for the trained CNN on its 500 held-out images, the same and the same
 * top-1 on 99% of the images. QOperator files (com.microsoft's QLinearAdd, QGemm, ...) are refused at load, naming
 * the ops.
 */
class OnnxQuantizedFixturesTest {
    static Path dir() throws Exception {
        return Path.of(
                OnnxQuantizedFixturesTest.class.getResource("/onnx/quantized").toURI());
    }

    /** The scale of the final DequantizeLinear, from the io file's metadata. */
    static double outputStep(SafeTensors io) {
        Matcher m = Pattern.compile("\"scale\": ([0-9.eE+-]+)")
                .matcher(io.metadata().get("output_qdq_quantization"));
        assertTrue(m.find(), io.metadata().get("output_qdq_quantization"));
        return Double.parseDouble(m.group(1));
    }

    /** Every element within one step of ONNX Runtime's; returns how many differ at all. */
    static int assertWithinOneStep(String what, float[] got, float[] ort, double step) {
        int off = 0;
        for (int i = 0; i < got.length; i++) {
            double d = Math.abs(got[i] - ort[i]);
            assertTrue(
                    d <= step * 1.001,
                    String.format(
                            Locale.ROOT,
                            "%s element %d: %s, ONNX Runtime %s (step %s)",
                            what,
                            i,
                            got[i],
                            ort[i],
                            step));
            off += d > 0 ? 1 : 0;
        }
        assertTrue(off <= got.length / 100, what + ": " + off + " of " + got.length + " elements one step off");
        return off;
    }

    @ParameterizedTest
    @ValueSource(strings = {"residual", "mobilenet_v2"})
    void qdqModelsGiveOnnxRuntimesIntegerResults(String name) throws Exception {
        try (SafeTensors io = SafeTensors.load(dir().resolve(name + "-quantized-io.safetensors"));
                OnnxModel m = OnnxModel.load(dir().resolve(name + "-qdq.onnx"))) {
            Tensor x = io.tensors().get("input");
            float[] ort = io.tensors().get("output_qdq").toFloatArray();
            double step = outputStep(io);
            try (Tensor y = m.forward(x)) {
                assertWithinOneStep(name + " oneDNN", y.toFloatArray(), ort, step);
            }
            m.to(Backend.REFERENCE);
            try (Tensor y = m.forward(x)) {
                assertWithinOneStep(name + " reference", y.toFloatArray(), ort, step);
            }
            m.to(Backend.ONEDNN);
            try (CompiledModule c = m.compile(CompileOptions.forInput(x.shape()));
                    Tensor y = c.forward(x)) {
                assertWithinOneStep(name + " compiled", y.toFloatArray(), ort, step);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"compiled", "reference"})
    void theTrainedCnnsQdqFileGivesOnnxRuntimesLogitsAndPredictions(String mode) throws Exception {
        TrainedCnnAccuracyTest.HeldOut h = TrainedCnnAccuracyTest.heldOut();
        try (SafeTensors io = SafeTensors.load(dir().resolve("cnn-quantized-io.safetensors"));
                OnnxModel m = OnnxModel.load(dir().resolve("cnn-qdq.onnx"))) {
            float[] ort = io.tensors().get("logits_qdq").toFloatArray();
            long[] ortTop1 = io.tensors().get("top1_qdq").toLongArray();
            double step = outputStep(io);
            float[] got = new float[ort.length];
            CompiledModule c = null;
            try {
                if (mode.equals("compiled")) {
                    c = m.compile(CompileOptions.forInput(h.batches().getFirst().shape()));
                } else {
                    m.to(Backend.REFERENCE);
                }
                int at = 0;
                for (Tensor x : h.batches()) {
                    try (Tensor y = c != null ? c.forward(x) : m.forward(x)) {
                        float[] v = y.toFloatArray();
                        System.arraycopy(v, 0, got, at, v.length);
                        at += v.length;
                    }
                }
            } finally {
                if (c != null) {
                    c.close();
                }
            }
            int off = assertWithinOneStep("cnn " + mode, got, ort, step);
            int same = 0;
            int right = 0;
            for (int i = 0; i < ortTop1.length; i++) {
                int top1 = TrainedCnnAccuracyTest.argmax(got, i * 10, 10); // the first of tied maxima, as numpy
                same += top1 == ortTop1[i] ? 1 : 0;
                right += top1 == h.labels()[i] ? 1 : 0;
            }
            System.out.printf(
                    Locale.ROOT,
                    "trained CNN QDQ (%s): %d of %d logits one step from ONNX Runtime's, top-1 the same on %d of %d, "
                            + "accuracy %.1f%%%n",
                    mode,
                    off,
                    got.length,
                    same,
                    ortTop1.length,
                    100.0 * right / ortTop1.length);
            assertTrue(same >= ortTop1.length * 99 / 100, same + " of " + ortTop1.length + " top-1 agree");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"residual", "cnn"})
    void qOperatorFilesAreRefusedAtLoadNamingTheirOps(String name) throws Exception {
        String m = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(dir().resolve(name + "-qop.onnx")))
                .getMessage();
        assertTrue(m.contains("QLinearConv") && m.contains("com.microsoft.QLinearAdd"), m);
    }
}
