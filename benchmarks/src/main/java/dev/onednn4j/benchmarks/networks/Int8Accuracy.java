package dev.onednn4j.benchmarks.networks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.onednn4j.OneDnn;
import dev.onednn4j.benchmarks.Ort;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How far int8 moves the logits, for onednn4j and ONNX Runtime alike, on the networks' seeded (untrained) weights:
 * {@value #IMAGES} structured test images (not the calibration ones), each implementation's int8 logits against its
 * own float32 ones: the largest and the root-mean-square difference over the logits' scale, and how often top-1
 * agrees. Writes a table to the file named by the first argument; the rest name the models.
 *
 * <pre>Int8Accuracy &lt;out.md&gt; resnet18 resnet50 mobilenet_v2</pre>
 */
public final class Int8Accuracy {
    static final int IMAGES = 16;

    private Int8Accuracy() {}

    /** Max and RMS difference over the scale (the largest |float32 logit|), and top-1 agreements. */
    record Difference(double max, double rms, int agree) {
        static Difference of(float[] reference, float[] got, int images) {
            int classes = reference.length / images;
            double scale = 0;
            double max = 0;
            double sq = 0;
            int agree = 0;
            for (int i = 0; i < images; i++) {
                int a = 0;
                int b = 0;
                for (int k = 0; k < classes; k++) {
                    int j = i * classes + k;
                    scale = Math.max(scale, Math.abs(reference[j]));
                    max = Math.max(max, Math.abs(reference[j] - got[j]));
                    sq += (reference[j] - got[j]) * (double) (reference[j] - got[j]);
                    a = reference[j] > reference[i * classes + a] ? k : a;
                    b = got[j] > got[i * classes + b] ? k : b;
                }
                agree += a == b ? 1 : 0;
            }
            return new Difference(max / scale, Math.sqrt(sq / reference.length) / scale, agree);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.4f | %.4f | %d/%d", max, rms, agree, IMAGES);
        }
    }

    /** Test images: structured like the calibration set, from another seed. */
    static float[] testImages() {
        SplittableRandom r = new SplittableRandom(77);
        float[] v = new float[IMAGES * 3 * 224 * 224];
        // [IMAGES, 3, 224, 224]: a tilted sinusoid per channel over an offset, plus noise
        for (int i = 0; i < IMAGES; i++) {
            double fx = r.nextDouble(0.01, 0.2);
            double fy = r.nextDouble(0.01, 0.2);
            double phase = r.nextDouble(0, 6);
            for (int c = 0; c < 3; c++) {
                double offset = r.nextGaussian() * 0.5;
                for (int y = 0; y < 224; y++) {
                    for (int x = 0; x < 224; x++) {
                        v[((i * 3 + c) * 224 + y) * 224 + x] =
                                (float) (offset + 1.2 * Math.sin(fx * x + fy * y + phase + c) + 0.1 * r.nextGaussian());
                    }
                }
            }
        }
        return v;
    }

    public static void main(String[] args) throws IOException, OrtException {
        StringBuilder md = new StringBuilder();
        md.append(String.format(
                Locale.ROOT,
                "### int8 against float32, on %d structured images (oneDNN ISA %s)%n%n",
                IMAGES,
                OneDnn.cpuIsa()));
        md.append(
                "| model | onednn4j int8: max | rms | top-1 agrees | ONNX Runtime int8: max | rms | top-1 agrees |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|\n");
        float[] images = testImages();
        long[] shape = {IMAGES, 3, 224, 224};
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (int m = 1; m < args.length; m++) {
            String model = args[m];
            NetworkExports exports = NetworkExports.standard();
            exports.ensure(model);
            NetworkReference ref = NetworkReference.load(exports, model, 1);
            float[] f32;
            float[] i8;
            try (Module net = ref.build();
                    Tensor x = Tensor.of(images, shape);
                    CompiledModule f =
                            net.compile(CompileOptions.forInput(shape).numThreads(Network.threads()));
                    CompiledModule q = net.compile(CompileOptions.forInput(shape)
                            .precision(Precision.INT8)
                            .calibration(CalibrationImages.tensors())
                            .numThreads(Network.threads()))) {
                f32 = f.forward(x).toFloatArray();
                i8 = q.forward(x).toFloatArray();
            }
            float[] ortF32;
            float[] ortI8;
            try (OnnxTensor in = Ort.input(env, images, shape);
                    OrtSession s32 = Ort.session(env, exports.onnx(model).toString(), Network.threads());
                    OrtSession s8 =
                            Ort.session(env, OnnxRuntimeNetworks.int8File(model).toString(), Network.threads())) {
                ortF32 = Ort.firstOutput(
                        s32, Map.of(s32.getInputNames().iterator().next(), in));
                ortI8 = Ort.firstOutput(s8, Map.of(s8.getInputNames().iterator().next(), in));
            }
            md.append("| ")
                    .append(model)
                    .append(" | ")
                    .append(Difference.of(f32, i8, IMAGES))
                    .append(" | ")
                    .append(Difference.of(ortF32, ortI8, IMAGES))
                    .append(" |\n");
        }
        md.append("\nEach implementation's int8 logits against its own float32 ones, over the float32 logits' "
                + "largest magnitude: the largest difference and the root mean square; top-1 agrees: images whose "
                + "top class is the same. The weights are the fixtures' seeded ones, not trained: the errors measure "
                + "the arithmetic, not a trained model's accuracy.\n");
        Files.writeString(Path.of(args[0]), md.toString(), StandardCharsets.UTF_8);
        System.out.print(md);
    }
}
