package dev.onednn4j.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.graph.Compiler;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import dev.onednn4j.vision.TorchvisionFixtures.Fixture;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every model compiled (BatchNorm folded, activations and residual additions fused as post-ops, layouts chosen by
 * oneDNN) against PyTorch's float64 logits.
 *
 * <p>fp32: the eager path's tolerance, {@link ModelsTest#TOLERANCE} of the logits' scale (see ModelsTest for why);
 * folding and fusing only reorder float32 roundings. bf16: {@link #BF16_TOLERANCE} of the logits' scale and the
 * same top-1 class for every image. bf16 keeps 8 significant bits (unit roundoff 2^-9 = 2e-3) per activation and
 * weight; over 20 to 53 layers the logits move by 3e-3 to 5e-3 of their scale on these fixtures (measured with
 * AVX512_BF16 and printed), so 2e-2 leaves room while every broken rewrite below moves them by 0.4 or more.
 */
class CompiledModelsTest {
    static final double BF16_TOLERANCE = 2e-2;

    /** The compiled model's logits for the fixture's input, and their error against PyTorch's. */
    static float[] run(Module net, Fixture f, CompileOptions options, String what) {
        try (CompiledModule fast = net.compile(options);
                Tensor x = TorchvisionFixtures.input(f);
                Tensor in = x.toMemoryFormat(options.inputFormat());
                Tensor y = fast.forward(in)) {
            float[] got = y.toFloatArray();
            System.out.printf(
                    Locale.ROOT,
                    "%s, %s: max error %.2e of max |logit| (%s)%n",
                    f.name(),
                    what,
                    ModelsTest.relativeError(got, f.output()),
                    OneDnn.cpuIsa());
            return got;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.onednn4j.vision.ModelsTest#generated")
    void compiledFp32MatchesPyTorchsFloat64Logits(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        try (Module net = ModelsTest.build(f)) {
            ModelsTest.loadGenerated(net, f, true);
            for (MemoryFormat format : MemoryFormat.values()) {
                CompileOptions o = CompileOptions.forInput(f.inputShape()).inputFormat(format);
                double err = ModelsTest.relativeError(run(net, f, o, "compiled fp32, " + format), f.output());
                assertTrue(err <= ModelsTest.TOLERANCE, name + " " + format + ": " + err);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.onednn4j.vision.ModelsTest#generated")
    void compiledBf16StaysWithinItsToleranceAndKeepsTheTopClass(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        if (!Dnnl.nativeBf16()) {
            // the fallback and the error are tested on every CPU (CompiledModuleTest, in a JVM limited to AVX2)
            System.out.println("bf16 is not native on " + OneDnn.cpuIsa() + ": " + name + " checked in fp32 only");
            return;
        }
        try (Module net = ModelsTest.build(f)) {
            ModelsTest.loadGenerated(net, f, true);
            CompileOptions o = CompileOptions.forInput(f.inputShape())
                    .inputFormat(MemoryFormat.CHANNELS_LAST)
                    .precision(Precision.BF16);
            float[] got = run(net, f, o, "compiled bf16");
            double err = ModelsTest.relativeError(got, f.output());
            assertTrue(err <= BF16_TOLERANCE, name + ": " + err);
            int classes = got.length / (int) f.inputShape()[0];
            for (int img = 0; img < f.inputShape()[0]; img++) {
                assertEquals(
                        argmax(f.output(), img * classes, classes),
                        argmax(got, img * classes, classes),
                        name + ", image " + img + ": top-1 class");
            }
        }
    }

    private static int argmax(double[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private static int argmax(float[] v, int from, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = v[from + i];
        }
        return argmax(d, 0, n);
    }

    /** The child JVM of {@link #eachBrokenRewriteFailsTheCheck}: prints the compiled model's error as its verdict. */
    public static void main(String[] args) throws Exception {
        Fixture f = TorchvisionFixtures.load(System.getProperty("fixture"));
        ChildJvm.serve(args, 1, i -> {
            try (Module net = ModelsTest.build(f)) {
                ModelsTest.loadGenerated(net, f, true);
                float[] got = run(net, f, CompileOptions.forInput(f.inputShape()), "broken");
                return "error " + ModelsTest.relativeError(got, f.output());
            }
        });
    }

    /**
     * Each rewrite, broken on purpose in a JVM of its own, moves the logits far beyond the tolerance: so the
     * check above would catch a folding without the BatchNorm's shift, lost activations, a residual added twice
     * or not at all.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fold-without-shift", "post-op-dropped", "sum-scale-2", "sum-dropped"})
    void eachBrokenRewriteFailsTheCheck(String mutation) {
        for (String fixture : List.of("resnet18-1x160", "mobilenet_v2-1x160")) {
            ChildJvm.Report r = ChildJvm.run(
                    CompiledModelsTest.class,
                    1,
                    List.of("-D" + Compiler.MUTATION_PROPERTY + "=" + mutation, "-Dfixture=" + fixture));
            assertEquals(List.of(), r.crashes());
            String verdict = r.outcomes().getFirst().verdict();
            assertTrue(verdict.startsWith("error "), verdict);
            double err = Double.parseDouble(verdict.substring(6));
            System.out.printf(
                    Locale.ROOT,
                    "%s broken (%s): max error %.2e of max |logit| (%.0fx the tolerance)%n",
                    fixture,
                    mutation,
                    err,
                    err / ModelsTest.TOLERANCE);
            assertTrue(err > 10 * ModelsTest.TOLERANCE, fixture + " " + mutation + ": " + err);
        }
    }
}
