package dev.onednn4j.demo;

import dev.onednn4j.OneDnn;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.nn.Reference;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.Models;
import dev.onednn4j.vision.ResNet;
import dev.onednn4j.vision.SeededWeights;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The seed notebook's story, told with onednn4j: an edge detector, three module trees, the
 * cross-check that failed with allclose and passes with a proven bound, the speed-up, and then a whole network:
 * torchvision's ResNet-18 against PyTorch's own logits, eager and compiled (fp32, and bf16 where the CPU has it). Run
 * it with {@code scripts/demo}.
 */
public final class Demo {

    private static final PrintStream OUT = System.out;

    private Demo() {}

    public static void main(String[] args) throws IOException {
        OUT.printf(Locale.ROOT, "onednn4j demo: oneDNN %s from %s%n%n", OneDnn.version(), OneDnn.libraryPath());
        edgeExample();
        moduleTrees();
        CrossCheckResult cc = seedCrossCheck();
        speed(cc);
        resnet18(Path.of(System.getProperty("onednn4j.fixtures", "java/src/test/resources/torch")));
    }

    // ---- 1 ---------------------------------------------------------------------------------------

    static void edgeExample() {
        heading("1. A vertical-edge detector on the seed's 5x5 image");
        float[] image = new float[25];
        for (int r = 0; r < 5; r++) {
            image[r * 5 + 3] = 10;
            image[r * 5 + 4] = 10;
        }
        float[] kernel = {1, 0, -1, 1, 0, -1, 1, 0, -1};
        try (Tensor x = Tensor.of(image, 1, 1, 5, 5);
                Conv2d pad = Conv2d.builder(1, 1, 1).padding(1).bias(false).build();
                Conv2d edge = Conv2d.builder(1, 1, 3).padding(1).bias(false).build()) {
            pad.weight().copyFrom(new float[] {1}); // a 1x1 identity with padding 1 shows the padded input
            edge.weight().copyFrom(kernel);
            OUT.println("input (1 x 1 x 5 x 5):");
            matrix(image, 5);
            OUT.println("kernel (3 x 3):");
            matrix(kernel, 3);
            try (Tensor padded = pad.forward(x);
                    Tensor y = edge.forward(x)) {
                OUT.println("padded input (padding 1, 7 x 7):");
                matrix(padded.toFloatArray(), 7);
                OUT.println("output = Conv2d(1, 1, kernel_size=(3, 3), padding=(1, 1)) on oneDNN (5 x 5):");
                float[] out = y.toFloatArray();
                matrix(out, 5);
                float[] seed = {
                    0, 0, -20, -20, 20, 0, 0, -30, -30, 30, 0, 0, -30, -30, 30, 0, 0, -30, -30, 30, 0, 0, -20, -20, 20
                };
                OUT.println("the seed's expected output, exactly: " + (Arrays.equals(out, seed) ? "yes" : "NO"));
            }
        }
        OUT.println();
    }

    private static void matrix(float[] m, int width) {
        for (int i = 0; i < m.length; i += width) {
            StringBuilder sb = new StringBuilder("   ");
            for (int j = 0; j < width; j++) {
                sb.append(String.format(Locale.ROOT, "%5.0f", m[i + j]));
            }
            OUT.println(sb);
        }
    }

    // ---- 2 ---------------------------------------------------------------------------------------

    static void moduleTrees() {
        heading("2. Module trees, with the parameter names PyTorch gives them");
        try (Module a = new SeedNetworks.TwoConvNet();
                Module b = new SeedNetworks.TwoBlockNet();
                Module c = new SeedNetworks.DeepNet()) {
            for (Module m : List.of(a, b, c)) {
                Map<String, Tensor> params = m.namedParameters();
                long scalars = params.values().stream().mapToLong(Tensor::numel).sum();
                OUT.printf(
                        Locale.ROOT, "%s: %d parameter arrays, %,d parameters%n", m.getName(), params.size(), scalars);
                List<String> names = new ArrayList<>(params.keySet());
                List<String> shown = names.size() <= 8
                        ? names
                        : List.of(
                                names.get(0),
                                names.get(1),
                                names.get(2),
                                names.get(3),
                                "...",
                                names.get(names.size() - 2),
                                names.get(names.size() - 1));
                for (String n : shown) {
                    OUT.println("   "
                            + (n.equals("...")
                                    ? n
                                    : n + " " + Arrays.toString(params.get(n).shape())));
                }
            }
            OUT.println("repr of the list of ten blocks, as PyTorch prints it:");
            OUT.println("   " + c.toString().replace("\n", "\n   "));

            // a whole network, cross-checked by switching the tree to the reference loop
            try (Tensor x = Tensor.of(
                    gaussian(new SplittableRandom(5), 2 * 16 * 12 * 12), MemoryFormat.CHANNELS_LAST, 2, 16, 12, 12)) {
                float[] fast;
                float[] slow;
                try (Tensor y = c.forward(x)) {
                    fast = y.toFloatArray();
                }
                c.to(Backend.REFERENCE);
                try (Tensor y = c.forward(x)) {
                    slow = y.toFloatArray();
                }
                c.to(Backend.ONEDNN);
                double max = 0;
                double scale = 0;
                for (int i = 0; i < fast.length; i++) {
                    max = Math.max(max, Math.abs(fast[i] - slow[i]));
                    scale = Math.max(scale, Math.abs(slow[i]));
                }
                OUT.printf(
                        Locale.ROOT,
                        "DeepNet on oneDNN vs the same tree on the reference loop "
                                + "(module.to(Backend.REFERENCE)): max |difference| %.2e on outputs up to %.1f%n",
                        max,
                        scale);
            }
        }
        OUT.println();
    }

    // ---- 3 ---------------------------------------------------------------------------------------

    record CrossCheckResult(Conv2d conv, Tensor x) {}

    static CrossCheckResult seedCrossCheck() {
        heading("3. The seed's cross-check: batch 11, 7 channels, 30x30; 17 filters, kernel 7, stride 3, padding 2");
        SplittableRandom rnd = new SplittableRandom(2024);
        Conv2d conv = Conv2d.builder(7, 17, 7).stride(3).padding(2).seed(2024).build(); // PyTorch's init
        float[] input = gaussian(rnd, 11 * 7 * 30 * 30);
        Tensor x = Tensor.of(input, 11, 7, 30, 30);
        float[] got;
        try (Tensor y = conv.forward(x)) {
            got = y.toFloatArray();
        }
        // the plain loop in double, and each output's proven bound gamma(terms) * (sum |w*x| + |b|)
        Reference reference = Reference.of(conv, x);
        double[] ref = reference.values();
        double[] bound = reference.bounds();
        int terms = 7 * 7 * 7 + 1;
        double maxErr = 0;
        double maxBound = 0;
        double worstShare = 0;
        int outside = 0;
        int allcloseFails = 0;
        int example = -1;
        for (int i = 0; i < got.length; i++) {
            double err = Math.abs(got[i] - ref[i]);
            double b = bound[i];
            maxErr = Math.max(maxErr, err);
            maxBound = Math.max(maxBound, b);
            worstShare = Math.max(worstShare, err / b);
            if (!(err <= b)) {
                outside++;
            }
            if (err > 1e-8 + 1e-5 * Math.abs(ref[i])) { // numpy.allclose's default rtol and atol
                allcloseFails++;
                if (example < 0 || Math.abs(ref[i]) < Math.abs(ref[example])) {
                    example = i;
                }
            }
        }
        String impl = conv.oneDnnPlan(MemoryFormat.CONTIGUOUS, 11, 7, 30, 30).implementation();
        OUT.printf(Locale.ROOT, "oneDNN (%s, float) vs the reference loop (double), %,d outputs:%n", impl, got.length);
        OUT.printf(Locale.ROOT, "   max |error|                   %.3e%n", maxErr);
        OUT.printf(
                Locale.ROOT,
                "   proven bound per element      gamma(%d) * (sum|w*x| + |b|), up to %.3e%n",
                terms,
                maxBound);
        OUT.printf(Locale.ROOT, "   worst element uses            %.1f%% of its bound%n", 100 * worstShare);
        OUT.printf(
                Locale.ROOT,
                "verdict: %s%n",
                outside == 0
                        ? "match (every one of " + got.length + " outputs is within its proven rounding bound)"
                        : "MISMATCH (" + outside + " outputs outside their bound)");
        if (allcloseFails > 0) {
            OUT.printf(
                    Locale.ROOT,
                    "Why a plain allclose would have failed: numpy.allclose's default tolerance "
                            + "(1e-8 + 1e-5 * |ref|) rejects %d of these %,d outputs, e.g. got %.9g vs reference "
                            + "%.9g.%n   That output is a sum of %d terms whose magnitudes add up to %.3g but which "
                            + "cancel to almost nothing: float rounding error scales with the terms (%.3g here), "
                            + "a relative tolerance with the tiny result.%n   The seed's NumPy-vs-PyTorch check printed "
                            + "\"Failure\" for that reason; the bound above is tied to the terms and holds for any "
                            + "summation order.%n",
                    allcloseFails,
                    got.length,
                    got[example],
                    ref[example],
                    terms,
                    bound[example] / Reference.gamma(terms),
                    bound[example]);
        } else {
            OUT.println("A plain allclose happens to pass on this data, but its tolerance is relative to each result, "
                    + "not to the size of the terms summed: on outputs near zero it fails, as the seed's check did.");
        }
        OUT.println();
        return new CrossCheckResult(conv, x);
    }

    // ---- 4 ---------------------------------------------------------------------------------------

    static void speed(CrossCheckResult cc) {
        heading("4. Speed on the seed's configuration");
        try (Conv2d conv = cc.conv();
                Tensor x = cc.x();
                Tensor out = Tensor.zeros(conv.outputShape(x.shape()))) {
            conv.to(Backend.REFERENCE);
            double refMs = medianMillis(5, 1, () -> conv.forward(x, out));
            conv.to(Backend.ONEDNN);
            double dnnlMs = medianMillis(200, 50, () -> conv.forward(x, out));
            String impl = conv.oneDnnPlan(MemoryFormat.CONTIGUOUS, x.shape()).implementation();
            String threads = System.getenv()
                    .getOrDefault("OMP_NUM_THREADS", Runtime.getRuntime().availableProcessors() + " (all cores)");
            OUT.printf(Locale.ROOT, "reference loop (Java, double):  %9.3f ms per forward (median of 5)%n", refMs);
            OUT.printf(
                    Locale.ROOT,
                    "oneDNN via onednn4j:            %9.3f ms per forward (median of 200, "
                            + "forward(x, out), NCHW in and out)%n",
                    dnnlMs);
            OUT.printf(
                    Locale.ROOT,
                    "   implementation %s, CPU ISA %s, OpenMP threads %s%n",
                    impl,
                    OneDnn.cpuIsa(),
                    threads);
            OUT.printf(Locale.ROOT, "oneDNN is %.0f x faster than the reference loop.%n", refMs / dnnlMs);
            OUT.println("(A quick timing for the story; scripts/bench measures properly with JMH.)");
        }
        OUT.println();
    }

    // ---- 5 ---------------------------------------------------------------------------------------

    /**
     * torchvision's ResNet-18 against PyTorch itself: the fixture holds the seed of the weights (drawn by a
     * generator both sides implement, BatchNorm statistics included) and PyTorch's float64 logits for a batch of
     * two 224x224 images.
     */
    static void resnet18(Path fixtures) throws IOException {
        heading("5. torchvision's ResNet-18, loaded by PyTorch's names, against PyTorch's own logits");
        Path file = fixtures.resolve("models/resnet18-2x224.safetensors");
        Map<String, String> meta;
        double[] torch;
        try (SafeTensors f = SafeTensors.load(file)) {
            meta = f.metadata();
            torch = f.tensors().get("output").toDoubleArray();
        }
        SeededWeights generator = SeededWeights.of(meta);
        try (ResNet net = Models.resnet18()) {
            Map<String, Tensor> weights = generator.stateDict(net.stateDict());
            long parameters = net.parameters().stream().mapToLong(Tensor::numel).sum();
            net.loadStateDict(weights, true);
            weights.values().forEach(Tensor::close);
            net.eval();
            OUT.printf(
                    Locale.ROOT,
                    "Models.resnet18(): %,d parameters in %d arrays and %d BatchNorm buffers, loaded "
                            + "strictly by torchvision's names (%s, ..., %s)%n",
                    parameters,
                    net.parameters().size(),
                    net.namedBuffers().size(),
                    "conv1.weight",
                    "layer4.1.bn2.num_batches_tracked");
            OUT.println("weights: PyTorch " + meta.get("torch") + " ran torchvision " + meta.get("torchvision")
                    + " with the same seeded weights (" + file.getFileName() + ", seed " + meta.get("seed") + ")");
            try (Tensor x = generator.input(2, 3, 224, 224);
                    Tensor cl = x.toMemoryFormat(MemoryFormat.CHANNELS_LAST)) {
                float[] got;
                try (Tensor y = net.forward(x)) {
                    got = y.toFloatArray();
                }
                int classes = got.length / 2;
                boolean agree = true;
                double maxErr = 0;
                double scale = 0;
                for (int image = 0; image < 2; image++) {
                    int[] ours = top5(got, image * classes, classes);
                    int[] theirs = top5(torch, image * classes, classes);
                    agree &= Arrays.equals(ours, theirs);
                    OUT.printf(
                            Locale.ROOT,
                            "image %d: top-5 classes onednn4j %s, PyTorch %s: %s%n",
                            image,
                            Arrays.toString(ours),
                            Arrays.toString(theirs),
                            Arrays.equals(ours, theirs) ? "the same" : "DIFFERENT");
                }
                for (int i = 0; i < got.length; i++) {
                    maxErr = Math.max(maxErr, Math.abs(got[i] - torch[i]));
                    scale = Math.max(scale, Math.abs(torch[i]));
                }
                OUT.printf(
                        Locale.ROOT,
                        "max |logit - PyTorch's float64 logit| = %.2e, %.1e of the largest logit "
                                + "(tolerance 1e-4)%n",
                        maxErr,
                        maxErr / scale);
                OUT.printf(
                        Locale.ROOT,
                        "verdict: %s%n",
                        agree && maxErr <= 1e-4 * scale
                                ? "match (same top-5 classes, logits within the tolerance)"
                                : "MISMATCH");
                double nchw = medianMillis(7, 2, () -> net.forward(x).close()) / 2;
                double nhwc = medianMillis(7, 2, () -> net.forward(cl).close()) / 2;
                OUT.printf(
                        Locale.ROOT,
                        "time per image (batch 2, eager, layer by layer): %.1f ms from NCHW input, "
                                + "%.1f ms from channels-last input, CPU ISA %s%n",
                        nchw,
                        nhwc,
                        OneDnn.cpuIsa());
                OUT.println(
                        "compiled, the way to run it in a service (Module.compile once for the shape: BatchNorm"
                                + " folded, activations and residual adds fused, oneDNN's layouts kept; then forward(x, out)):");
                try (CompiledModule fp32 = net.compile(options(cl, Precision.FP32))) {
                    compiled(fp32, cl, torch, 1e-4, nhwc);
                }
                try (CompiledModule auto = net.compile(options(cl, Precision.AUTO))) { // bf16 where the CPU has it
                    if (auto.precision() == Precision.BF16) {
                        compiled(auto, cl, torch, 3e-2, nhwc);
                    } else {
                        OUT.printf(
                                Locale.ROOT,
                                "  bf16: not on this CPU (%s has no native bf16); Precision.AUTO compiles fp32%n",
                                OneDnn.cpuIsa());
                    }
                }
            }
        }
        OUT.println();
    }

    private static CompileOptions options(Tensor x, Precision precision) {
        return CompileOptions.forInput(x.shape())
                .inputFormat(MemoryFormat.CHANNELS_LAST)
                .precision(precision);
    }

    /** Checks a compiled {@code fast} on {@code x} against PyTorch's logits and times it. */
    private static void compiled(CompiledModule fast, Tensor x, double[] torch, double tolerance, double eagerMs) {
        long batch = x.size(0);
        Precision precision = fast.precision();
        try (Tensor out = Tensor.empty(fast.outputShape())) {
            fast.forward(x, out);
            float[] got = out.toFloatArray();
            int classes = got.length / (int) batch;
            boolean sameTop5 = true;
            double maxErr = 0;
            double scale = 0;
            for (int i = 0; i < got.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(got[i] - torch[i]));
                scale = Math.max(scale, Math.abs(torch[i]));
            }
            for (int image = 0; image < batch; image++) {
                sameTop5 &= Arrays.equals(top5(got, image * classes, classes), top5(torch, image * classes, classes));
            }
            double ms = medianMillis(21, 5, () -> fast.forward(x, out)) / batch;
            OUT.printf(
                    Locale.ROOT,
                    "  %-4s: %5.1f ms per image, %.1fx as fast as eager channels-last; logits within %.1e of the largest (tolerance"
                            + " %.0e), top-5 %s: %s%n",
                    precision.name().toLowerCase(Locale.ROOT),
                    ms,
                    eagerMs / ms,
                    maxErr / scale,
                    tolerance,
                    sameTop5 ? "the same" : "DIFFERENT",
                    sameTop5 && maxErr <= tolerance * scale ? "match" : "MISMATCH");
        }
    }

    /** The indices of the five largest of {@code n} values from {@code offset}, largest first. */
    private static int[] top5(float[] v, int offset, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = v[offset + i];
        }
        return top5(d, 0, n);
    }

    private static int[] top5(double[] v, int offset, int n) {
        return java.util.stream.IntStream.range(0, n)
                .boxed()
                .sorted((a, b) -> Double.compare(v[offset + b], v[offset + a]))
                .limit(5)
                .mapToInt(i -> i)
                .toArray();
    }

    private static double medianMillis(int runs, int warmup, Runnable r) {
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long s = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - s) / 1e6;
        }
        Arrays.sort(t);
        return t[runs / 2];
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    private static void heading(String title) {
        OUT.println(title);
        OUT.println("-".repeat(title.length()));
    }
}
