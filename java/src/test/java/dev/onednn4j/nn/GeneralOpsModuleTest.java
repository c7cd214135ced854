package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A user's own {@link Module} written with the general tensor operations ({@code mul}, {@code softmax},
 * {@code Tensor.cat}, {@code matmul}, {@link Upsample}) beside the library's layers: it compiles, and the compiled
 * module matches the eager run, which matches the reference backend.
 */
class GeneralOpsModuleTest {

    /** (N, 3, 8, 8) -> conv -> softmax gate -> cat -> a matrix product of its channels -> bilinear upsampling. */
    static final class Net extends Module {
        final Conv2d conv = registerModule(
                "conv", Conv2d.builder(3, 8, 3).padding(1).seed(5).build());
        final Upsample up = registerModule("up", new Upsample(12, 20));

        @Override
        public Tensor forward(Tensor x) {
            long n = x.size(0);
            try (Tensor y = conv.forward(x); // [N, 8, 8, 8]
                    Tensor gate = y.softmax(1);
                    Tensor gated = y.mul(gate);
                    Tensor both = Tensor.cat(List.of(y, gated), 1); // [N, 16, 8, 8]
                    Tensor rows = both.reshape(n, 16, 64);
                    Tensor cols = both.reshape(n, 64, 16);
                    Tensor gram = rows.matmul(cols); // [N, 16, 16]
                    Tensor image = gram.reshape(n, 1, 16, 16)) {
                return up.forward(image); // [N, 1, 12, 20]
            }
        }
    }

    @Test
    void compilesAndMatchesItsEagerRun() {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[2 * 3 * 8 * 8];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        try (Net net = new Net();
                Tensor x = Tensor.of(v, 2, 3, 8, 8)) {
            net.eval();
            float[] eager;
            try (Tensor y = net.forward(x)) {
                assertArrayEquals(new long[] {2, 1, 12, 20}, y.shape());
                eager = y.toFloatArray();
            }
            float[] reference;
            net.to(Backend.REFERENCE);
            try (Tensor y = net.forward(x)) {
                reference = y.toFloatArray();
            }
            net.to(Backend.ONEDNN);
            float[] compiled;
            try (CompiledModule c = net.compile(2, 3, 8, 8);
                    Tensor y = c.forward(x)) {
                compiled = y.toFloatArray();
                assertTrue(c.toString().contains("concat") && c.toString().contains("matmul"), c.toString());
            }
            double scale = 0;
            double errEager = 0;
            double errCompiled = 0;
            for (int i = 0; i < eager.length; i++) {
                scale = Math.max(scale, Math.abs(reference[i]));
                errEager = Math.max(errEager, Math.abs(eager[i] - reference[i]));
                errCompiled = Math.max(errCompiled, Math.abs(compiled[i] - eager[i]));
            }
            String msg = String.format(
                    Locale.ROOT,
                    "eager vs reference %.3g, compiled vs eager %.3g, scale %.3g",
                    errEager,
                    errCompiled,
                    scale);
            assertTrue(scale > 0.1, msg);
            assertTrue(errEager <= 1e-5 * scale && errCompiled <= 1e-5 * scale, msg);
        }
    }
}
