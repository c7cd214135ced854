package dev.onednn4j.benchmarks.onnx;

import dev.onednn4j.OneDnn;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The ONNX import's contract on the whole zoo, as a user calls it: {@code OnnxModel.load(file)}, {@code eval()},
 * {@code forward(x)} on oneDNN and after {@code to(Backend.REFERENCE)}, and
 * {@code compile(CompileOptions.forInput(shape).precision(p))} in fp32 and bf16 (where the CPU has it natively), at
 * batch 1 and at the export's second batch size, each against PyTorch's float64 output of the same file's export:
 * fp32 within 1e-4 of the output's largest magnitude, bf16 within 3e-2 with the same top-1 class for every image,
 * unless PyTorch's own top two are closer than bf16's measured error (a tie, reported as one).
 * Prints one line per model and batch and writes them to {@code <results-dir>/check.md}; exits with 1 if any fails.
 *
 * <pre>OnnxZooCheck &lt;results-dir&gt; [--no-reference] model...</pre>
 */
public final class OnnxZooCheck {
    static final double FP32_TOLERANCE = 1e-4;
    static final double BF16_TOLERANCE = 3e-2;

    private OnnxZooCheck() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: OnnxZooCheck <results-dir> [--no-reference] model...");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        boolean reference = !args[1].equals("--no-reference");
        List<String> models = Arrays.asList(args).subList(reference ? 1 : 2, args.length);
        List<String> lines = new ArrayList<>();
        lines.add("| model | input | eager | reference | compiled fp32 | compiled bf16 | verdict |");
        lines.add("|---|---|---:|---:|---:|---:|---|");
        int failures = 0;
        for (String m : models) {
            for (String batch : new String[] {"", "_b2"}) {
                String line;
                try {
                    line = check(m, batch, reference);
                } catch (RuntimeException | IOException e) {
                    line = "| " + m + " | input" + batch + " | " + e.toString().replace('|', '/') + " | | | | FAIL |";
                }
                System.out.println(line);
                lines.add(line);
                failures += line.endsWith("FAIL |") ? 1 : 0;
            }
        }
        lines.add("");
        lines.add(String.format(
                Locale.ROOT,
                "%d of %d rows within the bounds (oneDNN ISA %s). Each number: max |y - y_torch| over max "
                        + "|y_torch|, y_torch PyTorch's float64 output; fp32 within %.0e, bf16 within %.0e and the same "
                        + "top-1 class for every image (marked otherwise).",
                2 * models.size() - failures,
                2 * models.size(),
                OneDnn.cpuIsa(),
                FP32_TOLERANCE,
                BF16_TOLERANCE));
        Files.createDirectories(out);
        Files.write(out.resolve("check.md"), lines, StandardCharsets.UTF_8);
        System.out.println(lines.getLast());
        System.exit(failures == 0 ? 0 : 1);
    }

    /** One model at one batch (the export's {@code input} or {@code input_b2}), as a table row. */
    static String check(String model, String batch, boolean reference) throws IOException {
        Path folder = ZooModel.folder();
        try (OnnxModel onnx = OnnxModel.load(folder.resolve(model + ".onnx"));
                SafeTensors io = SafeTensors.load(folder.resolve(model + "-io.safetensors"))) {
            onnx.eval();
            Tensor x = io.tensors().get("input" + batch);
            double[] expected = io.tensors().get("output" + batch).toDoubleArray();
            boolean ok = true;
            String eager;
            try (Tensor y = onnx.forward(x)) {
                double e = error(y.toDoubleArray(), expected);
                ok &= e <= FP32_TOLERANCE;
                eager = String.format(Locale.ROOT, "%.1e", e);
            }
            String ref = "not run";
            if (reference) {
                onnx.to(Backend.REFERENCE);
                try (Tensor y = onnx.forward(x)) {
                    double e = error(y.toDoubleArray(), expected);
                    ok &= e <= FP32_TOLERANCE;
                    ref = String.format(Locale.ROOT, "%.1e", e);
                } finally {
                    onnx.to(Backend.ONEDNN);
                }
            }
            String[] compiled = {"-", "not native here"};
            boolean ties = false;
            Precision[] precisions = {Precision.FP32, Precision.BF16};
            for (int p = 0; p < precisions.length; p++) {
                if (precisions[p] == Precision.BF16 && !nativeBf16()) {
                    continue;
                }
                try (CompiledModule c =
                                onnx.compile(CompileOptions.forInput(x.shape()).precision(precisions[p]));
                        Tensor y = c.forward(x)) {
                    double[] got = y.toDoubleArray();
                    double e = error(got, expected);
                    String top1 = p == 0 ? null : top1(got, expected, y.shape(), e);
                    ok &= e <= (p == 0 ? FP32_TOLERANCE : BF16_TOLERANCE)
                            && (top1 == null || top1.endsWith("within the error"));
                    ties |= top1 != null && top1.endsWith("within the error");
                    compiled[p] = String.format(Locale.ROOT, "%.1e%s", e, top1 == null ? "" : " (" + top1 + ")");
                }
            }
            return String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %s | %s | %s | %s |",
                    model,
                    Arrays.toString(x.shape()),
                    eager,
                    ref,
                    compiled[0],
                    compiled[1],
                    !ok ? "FAIL" : ties ? "ok, a top-1 tie" : "ok");
        }
    }

    /** Whether oneDNN's ISA here computes bf16 natively (as {@code scripts/bench} decides it from the ISA's name). */
    static boolean nativeBf16() {
        String isa = OneDnn.cpuIsa();
        return isa.contains("bf16") || isa.contains("fp16") || isa.contains("amx") || isa.contains("avx10");
    }

    static double error(double[] got, double[] expected) {
        if (got.length != expected.length) {
            throw new IllegalStateException("the output has " + got.length + " values, PyTorch's " + expected.length);
        }
        double scale = 0;
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(got[i] - expected[i]));
        }
        return err / scale;
    }

    /**
     * For (N, classes) logits: null if every image's top class is PyTorch's (and for other outputs); else the images
     * whose top class differs, with PyTorch's margin between its top class and the one picked here over the
     * output's scale, ending in "beyond the error" if any margin exceeds {@code error}, else in "within the error" (a
     * tie at this precision, which rounding alone decides: random weights can leave the top two logits closer than
     * bf16's rounding).
     */
    static String top1(double[] got, double[] expected, long[] shape, double error) {
        if (shape.length != 2) {
            return null;
        }
        int n = (int) shape[0];
        int k = (int) shape[1];
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        StringBuilder differs = new StringBuilder();
        boolean beyond = false;
        for (int i = 0; i < n; i++) {
            int a = 0;
            int b = 0;
            for (int j = 1; j < k; j++) {
                a = got[i * k + j] > got[i * k + a] ? j : a;
                b = expected[i * k + j] > expected[i * k + b] ? j : b;
            }
            if (a != b) {
                double margin = (expected[i * k + b] - expected[i * k + a]) / scale;
                beyond |= margin > error;
                differs.append(String.format(Locale.ROOT, "image %d: PyTorch's margin %.1e, ", i, margin));
            }
        }
        if (differs.isEmpty()) {
            return null;
        }
        return "top-1 differs, " + differs + (beyond ? "beyond the error" : "within the error");
    }
}
