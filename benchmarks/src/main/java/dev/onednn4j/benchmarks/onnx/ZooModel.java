package dev.onednn4j.benchmarks.onnx;

import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * One model of the ONNX zoo (torchvision's 25 classification and segmentation models, exported by
 * {@code scripts/make-onnx-fixtures --zoo} into {@code benchmarks/target/onnx-zoo}, or the folder the environment
 * variable {@code ONNX_ZOO} names) at
 * one batch size, shared by every implementation's row: the file, the input (the export's image repeated to the
 * batch, each copy shifted so the images differ) and PyTorch's float64 output of the first image, which each row
 * checks its own answer against before it is timed.
 */
@State(Scope.Benchmark)
public class ZooModel {
    /** The model, as the zoo names its files. */
    @Param({"resnet18"})
    public String model;

    /** Images per call. */
    @Param({"1", "8"})
    public int batch;

    /** The zoo's folder. */
    public static Path folder() {
        // an environment variable, not a -D option: ONNX Runtime's forks crashed (SIGSEGV, no hs_err) once the fork's
        // command line grew by a property of that length (measured with JMH 1.37 and ONNX Runtime 1.29 here)
        String env = System.getenv("ONNX_ZOO");
        return Path.of(env != null ? env : "benchmarks/target/onnx-zoo");
    }

    /** The model file. */
    public Path file() {
        Path f = folder().resolve(model + ".onnx");
        if (!Files.isRegularFile(f)) {
            throw new IllegalStateException("no " + f.toAbsolutePath() + ": run scripts/make-onnx-fixtures --zoo "
                    + "(or scripts/bench --onnx, which does)");
        }
        return f;
    }

    /** (batch, C, H, W) and its values, row-major; the first image is the export's own input. */
    public Input input() throws IOException {
        try (SafeTensors io = SafeTensors.load(folder().resolve(model + "-io.safetensors"))) {
            Tensor x = io.tensors().get("input");
            long[] one = x.shape();
            float[] image = x.toFloatArray();
            float[] all = new float[image.length * batch];
            SplittableRandom rng = new SplittableRandom(batch);
            for (int b = 0; b < batch; b++) {
                float shift = b == 0 ? 0 : (float) rng.nextDouble(-0.1, 0.1);
                for (int i = 0; i < image.length; i++) {
                    all[b * image.length + i] = image[i] + shift;
                }
            }
            long[] shape = one.clone();
            shape[0] = batch;
            double[] expected = io.tensors().get("output").toDoubleArray();
            return new Input(shape, all, expected);
        }
    }

    /** A batch and the expected output of its first image. */
    @SuppressWarnings("ArrayRecordComponent") // benchmark data, never compared
    public record Input(long[] shape, float[] values, double[] expectedFirst) {
        /** Checks the first image's output (the first {@code expectedFirst.length} values) within {@code tol}. */
        public void check(String who, float[] out, double tolerance) {
            double scale = 0;
            double err = 0;
            for (int i = 0; i < expectedFirst.length; i++) {
                scale = Math.max(scale, Math.abs(expectedFirst[i]));
                err = Math.max(err, Math.abs(out[i] - expectedFirst[i]));
            }
            if (!(err <= tolerance * scale)) {
                throw new IllegalStateException(String.format(
                        Locale.ROOT,
                        "%s: max |y - y_torch| = %.3g, over %.0e of max |y_torch| %.3g",
                        who,
                        err,
                        tolerance,
                        scale));
            }
        }
    }
}
