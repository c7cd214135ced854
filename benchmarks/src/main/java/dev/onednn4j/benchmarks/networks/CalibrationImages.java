package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The images every int8 implementation of the whole-network benchmarks calibrates on: onednn4j's
 * {@code CompileOptions.calibration} and ONNX Runtime's {@code quantize_static} (scripts/make-int8-models reads the
 * file {@link #main} writes). {@value #COUNT} smooth 3x224x224 images (a few sinusoids per channel with an offset,
 * plus a little noise: low frequencies like natural images', at the scale of normalized ImageNet inputs),
 * deterministic.
 */
public final class CalibrationImages {
    /** Images in the set. */
    public static final int COUNT = 32;

    private static final int C = 3;
    private static final int SIZE = 224;

    private CalibrationImages() {}

    /** The images, (COUNT, 3, 224, 224) row-major. */
    public static float[] values() {
        SplittableRandom r = new SplittableRandom(2026);
        float[] v = new float[COUNT * C * SIZE * SIZE];
        for (int i = 0; i < COUNT; i++) {
            double[] fx = new double[3];
            double[] fy = new double[3];
            double[] phase = new double[3];
            for (int k = 0; k < 3; k++) {
                fx[k] = r.nextDouble(0.01, 0.2);
                fy[k] = r.nextDouble(0.01, 0.2);
                phase[k] = r.nextDouble(0, 6);
            }
            // [COUNT, C, H, W]
            for (int c = 0; c < C; c++) {
                double offset = r.nextGaussian() * 0.5;
                for (int y = 0; y < SIZE; y++) {
                    for (int x = 0; x < SIZE; x++) {
                        double s = offset;
                        for (int k = 0; k < 3; k++) {
                            s += Math.sin(fx[k] * x + fy[k] * y + phase[k] + c);
                        }
                        v[((i * C + c) * SIZE + y) * SIZE + x] = (float) (0.7 * s + 0.1 * r.nextGaussian());
                    }
                }
            }
        }
        return v;
    }

    /** The images as one tensor, for {@code CompileOptions.calibration}. */
    public static List<Tensor> tensors() {
        return List.of(Tensor.of(values(), COUNT, C, SIZE, SIZE));
    }

    /** Writes the images as little-endian float32, (COUNT, 3, 224, 224), to the file named by the argument. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CalibrationImages <file>");
            System.exit(2);
        }
        float[] v = values();
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Files.write(Path.of(args[0]), b.array());
    }
}
