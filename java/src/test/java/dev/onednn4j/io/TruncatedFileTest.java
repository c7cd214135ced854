package dev.onednn4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.PaddingMode;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A safetensors file truncated by another process while its zero-copy tensors are in use. Reading a page of a
 * mapping past the file's new end is a SIGBUS: Java's own accesses turn it into an {@link InternalError}, native
 * code's kill the JVM. So native code never reads file-mapped memory (the plans read a Java copy), and every Java
 * access turns the fault into an exception naming the file. Each case runs in a child JVM, so that a regression is
 * a failed test, not a dead test JVM.
 */
class TruncatedFileTest {

    @TempDir
    Path dir;

    /** A state dict (a 3x3 convolution, 8 channels) and an 8x64x64 input, 136 KB: many pages. */
    static Path writeFile(Path dir) throws Exception {
        Path file = dir.resolve("net.safetensors");
        try (Sequential net = new Sequential(Conv2d.builder(8, 8, 3).padding(1).build());
                Tensor input = Tensor.of(uniform(1, 8 * 64 * 64), 1, 8, 64, 64)) {
            Map<String, Tensor> all = new LinkedHashMap<>(net.stateDict());
            all.put("input", input);
            SafeTensors.save(all, file);
        }
        return file;
    }

    static float[] uniform(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    /** Before any truncation, layers read a file-backed input (through a copy) exactly as they read any other. */
    @Test
    void aMappedInputGivesWhatACopyOfItGives() throws Exception {
        Path file = writeFile(dir);
        try (SafeTensors f = SafeTensors.load(file);
                Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build();
                Conv2d reflect = Conv2d.builder(8, 8, 3)
                        .padding(1)
                        .paddingMode(PaddingMode.REFLECT)
                        .build()) {
            Tensor mapped = f.tensors().get("input");
            assertTrue(mapped.isReadOnly(), "a zero-copy view of the mapping");
            try (Tensor copy = mapped.toMemoryFormat(MemoryFormat.CONTIGUOUS)) {
                for (Conv2d c : List.of(conv, reflect)) {
                    try (Tensor a = c.forward(mapped);
                            Tensor b = c.forward(copy)) {
                        assertArrayEquals(b.toFloatArray(), a.toFloatArray(), c.toString());
                    }
                }
                try (Tensor a = mapped.add(copy)) {
                    assertEquals(2 * copy.get(0, 3, 5, 7), a.get(0, 3, 5, 7));
                }
            }
        }
    }

    /** After truncation: each use is a clear exception naming the file, and the JVM lives on. */
    @Test
    void aFileTruncatedWhileMappedGivesClearExceptionsNotACrash() throws Exception {
        Path file = writeFile(dir);
        ChildJvm.Result r =
                ChildJvm.run(Truncate.class, List.of(), file.toString()).assertSucceeded();
        String cannotAccess = "java.io.UncheckedIOException: java.io.IOException: cannot access ";
        String maps = "its memory maps " + file + ", which was truncated or became unreadable after it was mapped";
        for (String c : Truncate.CASES.keySet()) {
            String line = r.value(c);
            assertTrue(line.startsWith(cannotAccess) && line.contains(maps), c + ": " + line);
        }
        r.assertPrinted("alive");
    }

    /** Maps {@code args[0]}, truncates it to nothing, then tries each case; prints {@code case=exception}. */
    public static final class Truncate {
        private Truncate() {}

        static final Map<String, Function<Map<String, Tensor>, Object>> CASES = new LinkedHashMap<>();

        static {
            CASES.put("forward", t -> {
                try (Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build()) {
                    return conv.forward(t.get("input"));
                }
            });
            CASES.put("forwardIntoOut", t -> {
                try (Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build();
                        Tensor out = Tensor.zeros(1, 8, 64, 64)) {
                    conv.forward(t.get("input"), out);
                    return out;
                }
            });
            CASES.put("forwardReflectPadded", t -> {
                try (Conv2d conv = Conv2d.builder(8, 8, 3)
                        .padding(1)
                        .paddingMode(PaddingMode.REFLECT)
                        .build()) {
                    return conv.forward(t.get("input"));
                }
            });
            CASES.put("forwardOfAWrap", t -> {
                try (ReLU relu = new ReLU();
                        Tensor wrapped = Tensor.wrap(t.get("input").readOnlySegment(), 1, 8, 64, 64)) {
                    return relu.forward(wrapped);
                }
            });
            CASES.put("add", t -> t.get("input").add(t.get("input")));
            CASES.put("toFloatArray", t -> t.get("input").toFloatArray());
            CASES.put("loadStateDict", t -> {
                try (Sequential net =
                        new Sequential(Conv2d.builder(8, 8, 3).padding(1).build())) {
                    Map<String, Tensor> weights = new LinkedHashMap<>(t);
                    weights.remove("input");
                    return net.loadStateDict(weights, true);
                }
            });
        }

        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            try (SafeTensors f = SafeTensors.load(file)) {
                Map<String, Tensor> tensors = f.tensors();
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(0); // as another process might
                }
                for (var c : CASES.entrySet()) {
                    try {
                        Object result = c.getValue().apply(tensors);
                        System.out.println(c.getKey() + "=no exception: " + result);
                    } catch (RuntimeException | Error e) {
                        System.out.println(c.getKey() + "=" + e);
                    }
                }
            }
            System.out.println("alive");
        }
    }
}
