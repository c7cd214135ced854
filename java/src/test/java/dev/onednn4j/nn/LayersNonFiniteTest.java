package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.onednn4j.OneDnn;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * NaN and infinities through every layer other than Conv2d ({@link Conv2dNonFiniteTest}): both backends give the same
 * class of value (the same NaN positions, the same infinities, finite values within 1e-5 relative) in both memory
 * formats, and the values docs/non-finite-values.md documents where they differ from PyTorch.
 */
class LayersNonFiniteTest {
    static final float NAN = Float.NaN;
    static final float INF = Float.POSITIVE_INFINITY;

    /** Five values every layer sees, repeated over 16 channels (so oneDNN's blocked kernels run too). */
    static final float[] SPECIAL = {NAN, INF, -INF, 1e30f, -1e30f, 0.5f, -0.5f, 0f};

    static Stream<Arguments> layers() {
        List<Supplier<Module>> layers = List.of(
                ReLU::new,
                ReLU6::new,
                () -> new LeakyReLU(0.1),
                () -> new LeakyReLU(0.0), // oneDNN's ReLU
                SiLU::new,
                GELU::new,
                () -> new GELU("tanh"),
                Sigmoid::new,
                Tanh::new,
                Hardswish::new,
                Hardsigmoid::new,
                () -> MaxPool2d.builder(2).stride(1).build(),
                () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                () -> AvgPool2d.builder(2).stride(1).build(),
                () -> AvgPool2d.builder(3)
                        .stride(2)
                        .padding(1)
                        .countIncludePad(false)
                        .build(),
                () -> new AdaptiveAvgPool2d(1),
                () -> new AdaptiveAvgPool2d(3, 2), // overlapping windows: a matmul
                () -> new AdaptiveAvgPool2d(2, 3), // windows tiling the input: a pooling
                () -> BatchNorm2d.builder(16).build().eval());
        return layers.stream()
                .flatMap(l -> Stream.of(MemoryFormat.values())
                        .map(f -> Arguments.of(l.get().toString(), l, f)));
    }

    static float[] input() {
        // [1, 16, 4, 6]: each channel a different rotation of SPECIAL, so every window meets a different mixture
        float[] x = new float[16 * 4 * 6];
        for (int i = 0; i < x.length; i++) {
            x[i] = SPECIAL[(i + i / 24) % SPECIAL.length];
        }
        return x;
    }

    static float[] run(Module m, Backend backend, MemoryFormat format, float[] x) {
        m.to(backend);
        try (Tensor t = Tensor.of(x, format, 1, 16, 4, 6);
                Tensor y = m.forward(t)) {
            return y.toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("layers")
    void bothBackendsAgreeOnNonFiniteValues(String name, Supplier<Module> layer, MemoryFormat format) {
        String verdict = compare(layer, format);
        if (!verdict.equals("ok")) {
            fail(name + " " + format + ": " + verdict);
        }
    }

    /** The same comparisons on oneDNN's AVX2 kernels (the machines without AVX-512), in a child JVM. */
    @Test
    void bothBackendsAgreeOnAvx2Kernels() {
        int count = (int) layers().count();
        ChildJvm.Report r =
                ChildJvm.run(LayersNonFiniteTest.class, count, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"));
        assertEquals(List.of(), r.crashes(), "JVM crashes");
        assertEquals(List.of(), r.failures(), "disagreements");
        assertEquals(count, r.outcomes().size(), "cases run");
    }

    public static void main(String[] args) {
        List<Arguments> all = layers().toList();
        ChildJvm.serve(args, all.size(), i -> {
            Object[] a = all.get(i).get();
            @SuppressWarnings("unchecked")
            Supplier<Module> layer = (Supplier<Module>) a[1];
            String verdict = compare(layer, (MemoryFormat) a[2]);
            return verdict.equals("ok") ? verdict : a[0] + " " + a[2] + " on " + OneDnn.cpuIsa() + ": " + verdict;
        });
    }

    /** {@code ok} when both backends give the same class of value everywhere, else the first difference. */
    static String compare(Supplier<Module> layer, MemoryFormat format) {
        try (Module m = layer.get()) {
            float[] x = input();
            float[] onednn = run(m, Backend.ONEDNN, format, x);
            float[] reference = run(m, Backend.REFERENCE, format, x);
            if (reference.length != onednn.length) {
                return "lengths " + onednn.length + " and " + reference.length;
            }
            for (int i = 0; i < onednn.length; i++) {
                float a = onednn[i];
                float r = reference[i];
                boolean same = Float.isNaN(a)
                        ? Float.isNaN(r)
                        : (Float.isInfinite(a) || Float.isInfinite(r))
                                ? a == r
                                : !Float.isNaN(r) && Math.abs(a - r) <= 1e-5 * Math.max(1, Math.abs(r));
                if (!same) {
                    return "element " + i + " oneDNN " + a + ", reference " + r;
                }
            }
            return "ok";
        }
    }

    static boolean avx512() {
        String isa = OneDnn.cpuIsa();
        return isa.contains("avx512") || isa.contains("avx10") || isa.contains("amx");
    }

    /** Where the library's arithmetic (oneDNN's) differs from PyTorch's, pinned so a change is a decision. */
    @Test
    void theDocumentedDifferencesFromPyTorch() {
        float[] x = {NAN, INF, -INF, 3};
        for (Backend backend : Backend.values()) {
            assertArrayEquals(new float[] {0, INF, 0, 3}, apply(new ReLU(), backend, x), "ReLU " + backend);
            assertArrayEquals(new float[] {0, 6, 0, 3}, apply(new ReLU6(), backend, x), "ReLU6 " + backend);
            assertArrayEquals(new float[] {0, INF, 0, 3}, apply(new LeakyReLU(0.0), backend, x), "LeakyReLU(0)");
            assertArrayEquals(new float[] {1, 1, 0, 1}, apply(new Hardsigmoid(), backend, x), backend.name());
            // oneDNN's AVX-512 kernel gives NaN, its AVX2 one PyTorch's +inf (bothBackendsAgreeOnAvx2Kernels)
            assertEquals(
                    avx512() ? Float.NaN : Float.POSITIVE_INFINITY,
                    apply(new GELU(), backend, x)[1],
                    "GELU(+inf) " + backend);
            // max pooling skips NaN; a window of NaN alone gives the lowest float
            float[] pooled = apply(
                    MaxPool2d.builder(1, 2).stride(1, 2).build(), backend, new float[] {NAN, 1, 1, NAN, NAN, NAN});
            assertArrayEquals(new float[] {1, 1, -Float.MAX_VALUE}, pooled, "MaxPool2d " + backend);
        }
    }

    static float[] apply(Module m, Backend backend, float[] x) {
        try (m;
                Tensor t = Tensor.of(x, 1, 1, 1, x.length);
                Tensor y = m.to(backend).forward(t)) {
            return y.toFloatArray();
        }
    }
}
