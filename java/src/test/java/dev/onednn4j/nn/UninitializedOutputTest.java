package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.onednn4j.internal.memory.NativeMemory;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layer outputs, copies and {@code Tensor.of} take memory that is not zeroed first ({@link Tensor#empty}). The build's
 * tests run with {@code -Donednn4j.debug.poisonEmpty=true}, which fills such memory with NaN: an element nothing wrote
 * would then be NaN. Every layer, on both backends and in both formats, every tensor operation that allocates its
 * result, and compiled modules (writing straight into their output, or through a last reorder) give finite values on
 * finite input, the same bits twice.
 */
class UninitializedOutputTest {

    @Test
    void theTestsRunWithUnzeroedMemoryPoisoned() {
        assertEquals("true", System.getProperty(NativeMemory.POISON_PROPERTY), "surefire's argLine sets it");
        for (long n : new long[] {1, 1000, 1 << 20}) { // C's allocator and the large-block cache
            try (Tensor t = Tensor.empty(n)) {
                assertEquals(n, countNaN(t.toFloatArray()), n + " elements");
            }
        }
        try (Tensor t = Tensor.empty(DType.INT64, MemoryFormat.CONTIGUOUS, 3)) {
            assertArrayEquals(new long[] {-1, -1, -1}, t.toLongArray());
        }
    }

    static Stream<Arguments> layers() {
        List<Supplier<Module>> layers = List.of(
                () -> Conv2d.builder(16, 32, 3).padding(1).build(),
                () -> Conv2d.builder(16, 16, 3).groups(16).stride(2).build(),
                () -> Conv2d.builder(16, 8, 3)
                        .padding(2)
                        .paddingMode(PaddingMode.REFLECT)
                        .build(),
                () -> new Sequential(
                        new Flatten(), Linear.builder(16 * 24 * 24, 10).build()),
                () -> new Sequential(new Flatten(0, -1)),
                ReLU::new,
                ReLU6::new,
                () -> new LeakyReLU(0.1),
                SiLU::new,
                GELU::new,
                () -> new GELU("tanh"),
                Sigmoid::new,
                Tanh::new,
                Hardswish::new,
                Hardsigmoid::new,
                () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                () -> AvgPool2d.builder(2).build(),
                () -> AvgPool2d.builder(3)
                        .stride(2)
                        .padding(1)
                        .countIncludePad(false)
                        .build(),
                () -> new AdaptiveAvgPool2d(1),
                () -> new AdaptiveAvgPool2d(5, 7),
                () -> BatchNorm2d.builder(16).build().eval(),
                () -> new Sequential(Conv2d.builder(16, 16, 1).build(), new ReLU()));
        List<Arguments> cases = new ArrayList<>();
        for (Supplier<Module> l : layers) {
            for (Backend b : Backend.values()) {
                for (MemoryFormat f : MemoryFormat.values()) {
                    cases.add(Arguments.of(l.get().toString(), l, b, f));
                }
            }
        }
        return cases.stream();
    }

    static float[] input(int seed) {
        Random r = new Random(seed);
        float[] x = new float[2 * 16 * 24 * 24]; // [2, 16, 24, 24]
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @ParameterizedTest(name = "{0} {2} {3}")
    @MethodSource("layers")
    void everyOutputElementIsWritten(String name, Supplier<Module> layer, Backend backend, MemoryFormat f) {
        try (Module m = layer.get();
                Tensor in = Tensor.of(input(7), f, 2, 16, 24, 24)) {
            m.to(backend);
            float[] first;
            try (Tensor y = m.forward(in)) {
                first = y.toFloatArray();
            }
            assertEquals(0, countNaN(first), name + ": elements nothing wrote");
            try (Tensor y = m.forward(in)) {
                assertArrayEquals(first, y.toFloatArray(), name + ", again");
            }
        }
    }

    static Stream<Arguments> tensorOps() {
        List<Function<Tensor, Tensor>> ops = List.of(
                t -> t.add(t),
                Tensor::relu,
                t -> t.toMemoryFormat(MemoryFormat.CHANNELS_LAST),
                t -> t.toMemoryFormat(MemoryFormat.CONTIGUOUS),
                t -> Tensor.of(t.toFloatArray(), MemoryFormat.CHANNELS_LAST, t.shape()));
        List<Arguments> cases = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            for (MemoryFormat f : MemoryFormat.values()) {
                cases.add(Arguments.of(i, ops.get(i), f));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "op {0} on {2}")
    @MethodSource("tensorOps")
    void tensorOperationsWriteTheirWholeResult(int index, Function<Tensor, Tensor> op, MemoryFormat f) {
        try (Tensor in = Tensor.of(input(9), f, 2, 16, 24, 24);
                Tensor y = op.apply(in)) {
            assertEquals(0, countNaN(y.toFloatArray()), "op " + index);
        }
    }

    static Stream<Arguments> compiled() {
        return Stream.of(
                // the last convolution writes straight into the output
                Arguments.of("conv", (Supplier<Module>) () ->
                        new Sequential(Conv2d.builder(16, 64, 3).padding(1).build(), new ReLU())),
                // the output comes through a reorder, after a pooling
                Arguments.of("conv+pool", (Supplier<Module>) () -> new Sequential(
                        Conv2d.builder(16, 32, 3).padding(1).build(), new ReLU(), new AdaptiveAvgPool2d(1))),
                Arguments.of("conv+flatten+linear", (Supplier<Module>) () -> new Sequential(
                        Conv2d.builder(16, 8, 3).build(),
                        new Flatten(),
                        Linear.builder(8 * 22 * 22, 10).build())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("compiled")
    void compiledOutputsAreWrittenInFull(String name, Supplier<Module> net) {
        for (MemoryFormat f : MemoryFormat.values()) {
            try (Module m = net.get().eval();
                    CompiledModule c = m.compile(CompileOptions.forInput(2, 16, 24, 24)
                            .inputFormat(f)
                            .outputFormat(f));
                    Tensor in = Tensor.of(input(8), f, 2, 16, 24, 24);
                    Tensor y = c.forward(in);
                    Tensor again = c.forward(in)) {
                float[] first = y.toFloatArray();
                assertEquals(0, countNaN(first), name + " " + f);
                assertArrayEquals(first, again.toFloatArray(), name + " " + f + ", again");
            }
        }
    }

    private static int countNaN(float[] v) {
        int n = 0;
        for (float x : v) {
            n += Float.isNaN(x) ? 1 : 0;
        }
        return n;
    }
}
