package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Precision#INT8} compiles as a user meets them: calibration from samples of any batch size and memory format,
 * a calibration saved and loaded back giving the very same program, int8 against float32 on a small residual network,
 * and every misuse refused with a message naming the rule.
 */
class Int8CompileTest {
    private static final long[] SHAPE = {2, 3, 16, 16};

    /** conv-bn-relu, a residual block, a strided block with a 1x1 downsample, pooling and a linear head. */
    private static Module net() {
        return new Sequential(
                        Conv2d.builder(3, 16, 3).padding(1).seed(1).build(),
                        new BatchNorm2d(16),
                        new ReLU(),
                        new Residual(16, 16, 1, 2),
                        new Residual(16, 32, 2, 3),
                        MaxPool2d.builder(2).build(),
                        new AdaptiveAvgPool2d(1),
                        new Flatten(),
                        Linear.builder(32, 10).seed(4).build())
                .eval();
    }

    /** {@code relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))}, the shortcut a strided 1x1 convolution if needed. */
    static final class Residual extends Module {
        private final Conv2d conv1;
        private final Conv2d conv2;
        private final Conv2d down;
        private final ReLU relu = new ReLU();

        Residual(int in, int out, int stride, long seed) {
            conv1 = registerModule(
                    "conv1",
                    Conv2d.builder(in, out, 3)
                            .stride(stride)
                            .padding(1)
                            .seed(seed)
                            .build());
            conv2 = registerModule(
                    "conv2",
                    Conv2d.builder(out, out, 3).padding(1).seed(seed + 10).build());
            down = stride == 1 && in == out
                    ? null
                    : registerModule(
                            "down",
                            Conv2d.builder(in, out, 1)
                                    .stride(stride)
                                    .seed(seed + 20)
                                    .build());
            registerModule("relu", relu);
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor a = conv1.forward(x);
                    Tensor b = relu.forward(a);
                    Tensor c = conv2.forward(b);
                    Tensor s = down == null ? null : down.forward(x);
                    Tensor sum = c.add(s == null ? x : s)) {
                return relu.forward(sum);
            }
        }
    }

    /** Smooth random images (sums of sinusoids, like natural images' low frequencies) plus a little noise. */
    static Tensor images(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int c = (int) SHAPE[1];
        int h = (int) SHAPE[2];
        int w = (int) SHAPE[3];
        float[] v = new float[n * c * h * w];
        for (int i = 0; i < n; i++) {
            double fx = r.nextDouble(0.05, 0.5);
            double fy = r.nextDouble(0.05, 0.5);
            double phase = r.nextDouble(0, 6);
            for (int ch = 0; ch < c; ch++) {
                double offset = r.nextGaussian() * 0.5;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        v[((i * c + ch) * h + y) * w + x] =
                                (float) (offset + Math.sin(fx * x + fy * y + phase + ch) + 0.1 * r.nextGaussian());
                    }
                }
            }
        }
        return Tensor.of(v, n, c, h, w);
    }

    private static List<Tensor> samples() {
        List<Tensor> s = new ArrayList<>();
        s.add(images(5, 100)); // batch sizes other than the compiled one
        s.add(images(3, 101).toMemoryFormat(MemoryFormat.CHANNELS_LAST));
        s.add(images(8, 102));
        return s;
    }

    @Test
    void int8FollowsFloat32OnAResidualNetwork() {
        try (Module net = net();
                Tensor x = images(2, 7);
                CompiledModule f = net.compile(CompileOptions.forInput(SHAPE));
                CompiledModule q = net.compile(
                        CompileOptions.forInput(SHAPE).precision(Precision.INT8).calibration(samples()))) {
            assertEquals(Precision.INT8, q.precision());
            String plan = q.toString();
            assertTrue(plan.contains("int8") && plan.contains("u8"), plan);
            float[] yf = f.forward(x).toFloatArray();
            float[] yq = q.forward(x).toFloatArray();
            double scale = 0;
            double err = 0;
            for (int i = 0; i < yf.length; i++) {
                scale = Math.max(scale, Math.abs(yf[i]));
                err = Math.max(err, Math.abs(yf[i] - yq[i]));
            }
            // 8-bit steps through six quantized layers: a few percent of the output's scale, not more
            assertTrue(err <= 0.05 * scale, "int8 differs from float32 by " + err + " against a scale of " + scale);
            assertTrue(err > 0, "int8 gave float32's exact output: nothing was quantized");
        }
    }

    @Test
    void aSavedCalibrationGivesTheSameProgram(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("net.calibration");
        try (Module net = net();
                Tensor x = images(2, 8);
                CompiledModule q = net.compile(CompileOptions.forInput(SHAPE)
                        .precision(Precision.INT8)
                        .calibrationMethod(CalibrationMethod.ENTROPY)
                        .calibration(samples()))) {
            Calibration c = q.calibration();
            assertEquals(CalibrationMethod.ENTROPY, c.method());
            c.save(file);
            Calibration loaded = Calibration.load(file);
            assertEquals(c.ranges(), loaded.ranges());
            try (CompiledModule again = net.compile(
                    CompileOptions.forInput(SHAPE).precision(Precision.INT8).calibration(loaded))) {
                assertArrayEquals(q.forward(x).toFloatArray(), again.forward(x).toFloatArray());
                assertEquals(loaded, again.calibration());
            }
            // another batch size, the same calibration
            long[] four = {4, SHAPE[1], SHAPE[2], SHAPE[3]};
            try (CompiledModule batch4 = net.compile(CompileOptions.forInput(four)
                            .precision(Precision.INT8)
                            .calibration(loaded));
                    Tensor x4 = images(4, 8)) {
                float[] y4 = batch4.forward(x4).toFloatArray();
                float[] y2 = q.forward(x).toFloatArray();
                for (int i = 0; i < y2.length; i++) {
                    assertEquals(y2[i], y4[i], 1e-5 * Math.max(1, Math.abs(y2[i])), "image 0-1, element " + i);
                }
            }
        }
    }

    @Test
    void thresholdsFollowTheMethod() {
        try (Module net = net()) {
            Map<String, Calibration.Range> minmax = ranges(net, CalibrationMethod.MINMAX);
            Map<String, Calibration.Range> percentile = ranges(net, CalibrationMethod.PERCENTILE);
            Map<String, Calibration.Range> entropy = ranges(net, CalibrationMethod.ENTROPY);
            assertEquals(minmax.keySet(), percentile.keySet());
            assertTrue(minmax.keySet().iterator().next().endsWith("input"), minmax.toString());
            for (String k : minmax.keySet()) {
                Calibration.Range m = minmax.get(k);
                assertEquals(Math.max(-m.min(), m.max()), m.threshold(), 0, k); // nothing clipped
                assertEquals(m.min(), percentile.get(k).min(), 0, k);
                assertTrue(percentile.get(k).threshold() <= m.threshold(), k);
                assertTrue(entropy.get(k).threshold() <= m.threshold(), k);
            }
            // some clipping happened somewhere: the histogram methods are not MINMAX under another name
            assertTrue(minmax.keySet().stream()
                    .anyMatch(k -> percentile.get(k).threshold() < minmax.get(k).threshold()));
        }
    }

    private static Map<String, Calibration.Range> ranges(Module net, CalibrationMethod method) {
        try (CompiledModule q = net.compile(CompileOptions.forInput(SHAPE)
                .precision(Precision.INT8)
                .calibrationMethod(method)
                .calibration(samples()))) {
            return q.calibration().ranges();
        }
    }

    @Test
    void misuseIsRefusedWithTheRule(@TempDir Path dir) throws IOException {
        try (Module net = net()) {
            CompileOptions int8 = CompileOptions.forInput(SHAPE).precision(Precision.INT8);
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> net.compile(int8));
            assertTrue(none.getMessage().contains("needs a calibration"), none.getMessage());

            IllegalArgumentException fp32 = assertThrows(
                    IllegalArgumentException.class,
                    () -> net.compile(CompileOptions.forInput(SHAPE).calibration(samples())));
            assertTrue(fp32.getMessage().contains("is for Precision.INT8"), fp32.getMessage());

            try (Tensor wrong = Tensor.zeros(1, 3, 8, 8)) {
                IllegalArgumentException shape = assertThrows(
                        IllegalArgumentException.class, () -> net.compile(int8.calibration(List.of(wrong))));
                assertTrue(
                        shape.getMessage().contains("calibration sample 0 is float32 [1, 3, 8, 8]"),
                        shape.getMessage());
            }
            IllegalArgumentException empty =
                    assertThrows(IllegalArgumentException.class, () -> net.compile(int8.calibration(List.of())));
            assertTrue(empty.getMessage().contains("hold no image"), empty.getMessage());

            float[] nan = new float[3 * 16 * 16];
            nan[5] = Float.NaN;
            try (Tensor bad = Tensor.of(nan, 1, 3, 16, 16)) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> net.compile(int8.calibration(List.of(bad))));
                assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            }
            try (CompiledModule f = net.compile(CompileOptions.forInput(SHAPE))) {
                IllegalStateException s = assertThrows(IllegalStateException.class, f::calibration);
                assertTrue(s.getMessage().contains("only INT8 has a calibration"), s.getMessage());
            }
            // a calibration of another network
            Calibration other =
                    new Calibration(CalibrationMethod.MINMAX, Map.of("0 input", new Calibration.Range(-1, 1, 1)));
            IllegalArgumentException mismatch =
                    assertThrows(IllegalArgumentException.class, () -> net.compile(int8.calibration(other)));
            assertTrue(mismatch.getMessage().contains("made for another module"), mismatch.getMessage());
        }
        Path file = dir.resolve("bad");
        Files.writeString(file, "hello\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Calibration.load(file))
                .getMessage()
                .contains("is not a saved calibration"));
        Files.writeString(file, "onednn4j calibration 1\nmethod\tMINMAX\n0 input\t-1\t1\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Calibration.load(file))
                .getMessage()
                .contains("line 3: expected name, min, max and threshold"));
        Files.writeString(file, "onednn4j calibration 1\nmethod\tMINMAX\n0 input\t2\t1\t1\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Calibration.load(file))
                .getMessage()
                .contains("line 3: a calibrated range needs min <= max"));
        Files.writeString(file, "onednn4j calibration 1\nmethod\tBEST\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Calibration.load(file))
                .getMessage()
                .contains("unknown calibration method 'BEST'"));
    }
}
