package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Accuracy that means something: a small CNN trained by {@code scripts/make-torch-fixtures --only trained} on a
 * generated 10-class image set (shapes, textures, colours), exported to ONNX, keeps its held-out accuracy when
 * compiled: float32 predicts what PyTorch predicts, bf16 (where the CPU has it) and int8 (calibrated on 32 training
 * images with the default method, as a user would) lose at most one point of accuracy against float32. The int8 case
 * also runs under {@code ONEDNN_MAX_CPU_ISA=AVX2}, where oneDNN has no VNNI and the weights keep 7 bits.
 */
class TrainedCnnAccuracyTest {
    /** At most one point of held-out accuracy lost in int8 and in bf16: the rule. */
    static final double POINT = 0.01;

    private static final int BATCH = 100;

    /** The held-out set: normalized images in batches, labels, PyTorch's own top-1 per image. */
    record HeldOut(List<Tensor> batches, long[] labels, int[] pytorchTop1, double pytorchAccuracy) {}

    static Path dir() {
        try {
            return Path.of(
                    TrainedCnnAccuracyTest.class.getResource("/torch/trained").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void float32PredictsWhatPyTorchPredicts() throws IOException {
        HeldOut h = heldOut();
        try (OnnxModel model = OnnxModel.load(dir().resolve("cnn.onnx"))) {
            model.eval();
            int[] top1 = predict(model, h, CompileOptions.forInput(BATCH, 3, 32, 32));
            int differ = 0;
            for (int i = 0; i < top1.length; i++) {
                differ += top1[i] != h.pytorchTop1()[i] ? 1 : 0;
            }
            double acc = accuracy(top1, h.labels());
            System.out.printf(
                    Locale.ROOT,
                    "trained CNN, %s: PyTorch fp32 %.2f%%, onednn4j fp32 %.2f%%, %d of %d predictions differ%n",
                    OneDnn.cpuIsa(),
                    100 * h.pytorchAccuracy(),
                    100 * acc,
                    differ,
                    top1.length);
            assertTrue(differ <= 1, differ + " of " + top1.length + " float32 predictions differ from PyTorch's");
            assertTrue(acc > 0.5 && acc < 1, "a real accuracy, neither chance nor every image: " + acc);
        }
    }

    @Test
    void bf16LosesAtMostOnePoint() throws IOException {
        HeldOut h = heldOut();
        try (OnnxModel model = OnnxModel.load(dir().resolve("cnn.onnx"))) {
            model.eval();
            CompileOptions bf16 = CompileOptions.forInput(BATCH, 3, 32, 32).precision(Precision.BF16);
            if (!Dnnl.nativeBf16()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.compile(bf16));
                assertTrue(e.getMessage().contains("bf16"), e.getMessage());
                System.out.println("bf16 is not native on " + OneDnn.cpuIsa() + ": refused, " + e.getMessage());
                return;
            }
            double fp32 = accuracy(predict(model, h, CompileOptions.forInput(BATCH, 3, 32, 32)), h.labels());
            double acc = accuracy(predict(model, h, bf16), h.labels());
            System.out.printf(
                    Locale.ROOT, "trained CNN, %s: fp32 %.2f%%, bf16 %.2f%%%n", OneDnn.cpuIsa(), 100 * fp32, 100 * acc);
            assertTrue(acc >= fp32 - POINT, "bf16 " + acc + " against fp32 " + fp32);
        }
    }

    @Test
    void int8LosesAtMostOnePoint() {
        assertEquals("ok", int8Verdict());
    }

    @Test
    void int8OnAvx2KernelsWithoutVnniLosesAtMostOnePoint() {
        ChildJvm.Report r =
                ChildJvm.run(TrainedCnnAccuracyTest.class, 1, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"));
        assertTrue(r.crashes().isEmpty(), "crashed: " + r.crashes());
        assertEquals(1, r.outcomes().size(), r.outcomes().toString());
        assertTrue(r.failures().isEmpty(), r.failures().toString());
    }

    /** Child JVM: the int8 case. */
    public static void main(String[] args) {
        ChildJvm.serve(args, 1, i -> int8Verdict());
    }

    /** Int8 against float32 on the held-out set, calibrated on the training images: "ok" or what went wrong. */
    static String int8Verdict() {
        try (OnnxModel model = OnnxModel.load(dir().resolve("cnn.onnx"));
                SafeTensors cal = SafeTensors.load(dir().resolve("calibration.safetensors"))) {
            model.eval();
            HeldOut h = heldOut();
            List<Tensor> samples = normalized(cal, cal.tensors().get("images"), 32);
            double fp32 = accuracy(predict(model, h, CompileOptions.forInput(BATCH, 3, 32, 32)), h.labels());
            CompileOptions int8 = CompileOptions.forInput(BATCH, 3, 32, 32)
                    .precision(Precision.INT8)
                    .calibration(samples);
            double acc = accuracy(predict(model, h, int8), h.labels());
            System.out.printf(
                    Locale.ROOT, "trained CNN, %s: fp32 %.2f%%, int8 %.2f%%%n", OneDnn.cpuIsa(), 100 * fp32, 100 * acc);
            return acc >= fp32 - POINT
                    ? "ok"
                    : String.format(
                            Locale.ROOT,
                            "int8 lost more than one point on %s: %.2f%% against fp32 %.2f%%",
                            OneDnn.cpuIsa(),
                            100 * acc,
                            100 * fp32);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Top-1 of every held-out image, the model compiled with {@code options} (batches of {@link #BATCH}). */
    static int[] predict(OnnxModel model, HeldOut h, CompileOptions options) {
        int[] top1 = new int[h.labels().length];
        try (CompiledModule c = model.compile(options)) {
            if (options.precision() == Precision.INT8) {
                assertTrue(c.toString().contains("u8") || c.toString().contains("s8"), "no int8 step:\n" + c);
            }
            int at = 0;
            for (Tensor x : h.batches()) {
                try (Tensor y = c.forward(x)) {
                    float[] logits = y.toFloatArray();
                    int classes = (int) y.shape()[1];
                    for (int i = 0; i < y.shape()[0]; i++) {
                        top1[at++] = argmax(logits, i * classes, classes);
                    }
                }
            }
        }
        return top1;
    }

    static HeldOut heldOut() throws IOException {
        try (SafeTensors io = SafeTensors.load(dir().resolve("heldout.safetensors"))) {
            long[] labels = io.tensors().get("labels").toLongArray();
            float[] logits = io.tensors().get("logits").toFloatArray();
            int classes = logits.length / labels.length;
            int[] pytorch = new int[labels.length];
            for (int i = 0; i < labels.length; i++) {
                pytorch[i] = argmax(logits, i * classes, classes);
            }
            assertEquals(0, labels.length % BATCH, "the held-out set is whole batches: " + labels.length);
            List<Tensor> batches = normalized(io, io.tensors().get("images"), BATCH);
            double pytorchAccuracy = Double.parseDouble(io.metadata().get("pytorch_accuracy"));
            assertEquals(pytorchAccuracy, accuracy(pytorch, labels), 1e-9, "PyTorch's accuracy, as its logits give it");
            return new HeldOut(batches, labels, pytorch, pytorchAccuracy);
        }
    }

    /**
     * Raw u8 images (N, 3, H, W) as {@code (x / 255 - mean[c]) / std[c]} (the file's metadata), in batches, in
     * float32 arithmetic step by step, as the fixture script normalized them for PyTorch and ONNX Runtime.
     */
    static List<Tensor> normalized(SafeTensors file, Tensor images, int batch) {
        double[] mean = numbers(file.metadata().get("mean"));
        double[] std = numbers(file.metadata().get("std"));
        long[] shape = images.shape();
        float[] raw = images.toFloatArray();
        int plane = (int) (shape[2] * shape[3]);
        int image = (int) shape[1] * plane;
        List<Tensor> out = new ArrayList<>();
        for (int first = 0; first < shape[0]; first += batch) {
            float[] x = new float[batch * image];
            // [B, C, H, W] u8 -> [B, C, H, W] normalized
            for (int i = 0; i < x.length; i++) {
                int c = i % image / plane;
                x[i] = (raw[first * image + i] / 255f - (float) mean[c]) / (float) std[c];
            }
            out.add(Tensor.of(x, batch, shape[1], shape[2], shape[3]));
        }
        return out;
    }

    /** A JSON list of numbers, {@code [0.5, 0.25, 0.125]}. */
    static double[] numbers(String json) {
        String[] parts = json.strip().replace("[", "").replace("]", "").split(",", -1);
        double[] v = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Double.parseDouble(parts[i].strip());
        }
        return v;
    }

    static double accuracy(int[] top1, long[] labels) {
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += top1[i] == labels[i] ? 1 : 0;
        }
        return (double) right / labels.length;
    }

    static int argmax(float[] v, int from, int count) {
        int best = 0;
        for (int i = 1; i < count; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
