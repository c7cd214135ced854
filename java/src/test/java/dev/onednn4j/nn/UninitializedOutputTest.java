package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layer outputs come from memory that is not zeroed first ({@link Tensor#empty}): a freed block, reused as it is. Each
 * layer, on both backends and in both formats, gives the same bits whatever its output memory held before: memory
 * poisoned with NaN (the blocks of 1 MiB or more come back from the library's block cache, smaller ones from C's
 * allocator) changes nothing.
 */
class UninitializedOutputTest {

    static Stream<Arguments> layers() {
        List<Supplier<Module>> layers = List.of(
                () -> Conv2d.builder(16, 32, 3).padding(1).build(),
                () -> Conv2d.builder(16, 16, 3).groups(16).stride(2).build(),
                () -> new Sequential(
                        new Flatten(), Linear.builder(16 * 96 * 96, 10).build()),
                ReLU::new,
                GELU::new,
                () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                () -> AvgPool2d.builder(2).build(),
                () -> new AdaptiveAvgPool2d(1),
                () -> new AdaptiveAvgPool2d(3, 2),
                () -> BatchNorm2d.builder(16).build().eval(),
                () -> new Flatten(),
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

    /** Frees tensors of every size up to {@code bytes} (and that size), full of NaN, for the next ones to reuse. */
    static void poison(long bytes) {
        for (long b = bytes; b >= 4; b /= 2) {
            long n = b / 4;
            for (int k = 0; k < 2; k++) {
                try (Tensor t = Tensor.empty(n)) {
                    float[] nan = new float[Math.toIntExact(n)];
                    Arrays.fill(nan, Float.NaN);
                    t.copyFrom(nan);
                }
            }
        }
    }

    @Test
    void poisonedMemoryIsWhatTheNextLargeTensorGets() {
        long bytes = 2L << 20;
        poison(bytes);
        try (Tensor t = Tensor.empty(bytes / 4)) {
            assertEquals(bytes / 4, countNaN(t.toFloatArray()), "the block cache handed back the poisoned block");
        }
    }

    @ParameterizedTest(name = "{0} {2} {3}")
    @MethodSource("layers")
    void outputsDoNotDependOnWhatTheirMemoryHeld(String name, Supplier<Module> layer, Backend backend, MemoryFormat f) {
        Random r = new Random(7);
        float[] x = new float[2 * 16 * 96 * 96]; // [2, 16, 96, 96]: outputs of 80 bytes to 0.6 MiB, and 1.2 to 2.4 MiB
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (Module m = layer.get();
                Tensor in = Tensor.of(x, f, 2, 16, 96, 96)) {
            m.to(backend);
            float[] first;
            long bytes;
            try (Tensor y = m.forward(in)) {
                first = y.toFloatArray();
                bytes = y.numel() * 4;
            }
            for (int round = 0; round < 3; round++) {
                poison(bytes);
                try (Tensor y = m.forward(in)) {
                    float[] again = y.toFloatArray();
                    assertArrayEquals(first, again, name + ", round " + round);
                    assertEquals(0, countNaN(again), name + ": NaN from the memory's old contents");
                }
            }
        }
    }

    @Test
    void compiledOutputsDoNotDependOnWhatTheirMemoryHeld() {
        float[] x = new float[2 * 16 * 64 * 64];
        Random r = new Random(8);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (Module m = new Sequential(Conv2d.builder(16, 64, 3).padding(1).build(), new ReLU()).eval();
                CompiledModule c = m.compile(CompileOptions.forInput(2, 16, 64, 64));
                Tensor in = Tensor.of(x, 2, 16, 64, 64);
                Tensor expected = c.forward(in)) {
            for (int round = 0; round < 3; round++) {
                poison(expected.numel() * 4);
                try (Tensor y = c.forward(in)) {
                    assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), "round " + round);
                }
            }
        }
    }

    private static int countNaN(float[] v) {
        int n = 0;
        for (float f : v) {
            n += Float.isNaN(f) ? 1 : 0;
        }
        return n;
    }
}
