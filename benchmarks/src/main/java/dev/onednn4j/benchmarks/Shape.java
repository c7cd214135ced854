package dev.onednn4j.benchmarks;

import dev.onednn4j.nn.Conv2d;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One convolution of the benchmark suite, in PyTorch's conventions (dilation 1 = none), with bias.
 * The suite is {@code shapes.csv} (a copy of the project's shape suite); {@link #BATCH_SCALING} adds the
 * batch-scaling layer at N = 1, 8, 32.
 */
public record Shape(
        String name, int n, int c, int h, int w, int outC, int kernel, int stride, int pad, int dilation, int groups) {

    /** The batch-scaling rows: one 3x3 layer, 64 channels, 28x28, at N = 1, 8 and 32. */
    public static final List<Shape> BATCH_SCALING = List.of(
            new Shape("batch-1-64x28-k3", 1, 64, 28, 28, 64, 3, 1, 1, 1, 1),
            new Shape("batch-8-64x28-k3", 8, 64, 28, 28, 64, 3, 1, 1, 1, 1),
            new Shape("batch-32-64x28-k3", 32, 64, 28, 28, 64, 3, 1, 1, 1, 1));

    private static final List<Shape> SUITE = load();

    /** The shape suite, in file order. */
    public static List<Shape> suite() {
        return SUITE;
    }

    /** A suite or batch-scaling shape by name. */
    public static Shape named(String name) {
        for (Shape s : SUITE) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        for (Shape s : BATCH_SCALING) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no shape named '" + name + "' in shapes.csv or the batch-scaling rows");
    }

    private static List<Shape> load() {
        List<Shape> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(Shape.class.getResourceAsStream("/shapes.csv"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(",", -1);
                if (f.length != 11) {
                    throw new IllegalStateException("shapes.csv: expected 11 fields, got " + f.length + ": " + line);
                }
                int[] v = new int[10];
                for (int i = 0; i < 10; i++) {
                    v[i] = Integer.parseInt(f[i + 1].strip());
                }
                out.add(new Shape(f[0].strip(), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(out);
    }

    public int outH() {
        return outSize(h);
    }

    public int outW() {
        return outSize(w);
    }

    /** PyTorch's output size: {@code floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1}. */
    private int outSize(int size) {
        return (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    }

    public long[] inputShape() {
        return new long[] {n, c, h, w};
    }

    public long[] outputShape() {
        return new long[] {n, outC, outH(), outW()};
    }

    public long[] weightShape() {
        return new long[] {outC, c / groups, kernel, kernel};
    }

    /** Floating-point operations of one forward: two per multiply-add. */
    public double flops() {
        int perGroup = c / groups; // input channels each output sums over
        return 2.0 * n * outC * outH() * outW() * perGroup * kernel * kernel;
    }

    /** The layer as onednn4j builds it. */
    public Conv2d conv2d() {
        return Conv2d.builder(c, outC, kernel)
                .stride(stride)
                .padding(pad)
                .dilation(dilation)
                .groups(groups)
                .build();
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%s (N=%d, C=%d, %dx%d, out=%d, k=%d, s=%d, p=%d, d=%d, g=%d)",
                name,
                n,
                c,
                h,
                w,
                outC,
                kernel,
                stride,
                pad,
                dilation,
                groups);
    }
}
