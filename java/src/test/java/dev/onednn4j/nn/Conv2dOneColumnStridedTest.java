package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * oneDNN 3.13's brgemm convolution silently sums the wrong input columns when the output is one column wide and the
 * W stride is above 1 (with a kernel taller and wider than 1 and H stride 1; found by scripts/fuzz, e.g.
 * {@code Conv2d(1, 4, (2, 5), stride=(1, 6), padding=(1, 0))} on (1, 1, 2, 8), off by 33 in the exact tier). The
 * library takes the next implementation oneDNN offers for that family. Every shape of a small grid, with small
 * integers so that any correct summation order gives the exact result bit for bit.
 */
class Conv2dOneColumnStridedTest {

    @Test
    void oneOutputColumnWithAStrideAboveOneIsExactAndAvoidsBrgemm() {
        SplittableRandom r = new SplittableRandom(20261128);
        int family = 0;
        int neighbours = 0;
        for (int h = 2; h <= 6; h += 2) {
            for (int kH = 1; kH <= 3; kH++) {
                for (int pH = 0; pH <= 1; pH++) {
                    for (int w = 1; w <= 9; w++) {
                        for (int kW = 1; kW <= 5; kW += 2) {
                            for (int sW = 1; sW <= 7; sW += 2) {
                                if (h + 2 * pH < kH || w < kW) {
                                    continue;
                                }
                                for (MemoryFormat f : MemoryFormat.values()) {
                                    boolean one = check(r, h, kH, pH, w, kW, sW, f);
                                    family += one ? 1 : 0;
                                    neighbours += one ? 0 : 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(family > 200 && neighbours > 200, family + " in the family, " + neighbours + " neighbours");
    }

    /** One shape: oneDNN against the reference, bit for bit; returns whether it is in the family. */
    private static boolean check(SplittableRandom r, int h, int kH, int pH, int w, int kW, int sW, MemoryFormat f) {
        int ic = 1 + r.nextInt(3);
        try (Conv2d conv =
                Conv2d.builder(ic, 4, kH, kW).stride(1, sW).padding(pH, 0).build()) {
            float[] weights = new float[4 * ic * kH * kW];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = r.nextInt(5) - 2;
            }
            conv.weight().copyFrom(weights);
            conv.bias().copyFrom(new float[] {1, -2, 3, 0});
            float[] x = new float[ic * h * w];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextInt(9) - 4;
            }
            String what = Arrays.toString(new int[] {ic, h, w}) + " " + conv + " " + f;
            long outW = conv.outputShape(1, ic, h, w)[3];
            // the stride oneDNN is given: one output column moves nowhere, so at most the slack + 1 (Convolution)
            boolean family = outW == 1 && Math.min(sW, w - kW + 1) > 1;
            String impl = conv.oneDnnPlan(f, 1, ic, h, w).implementation();
            if (family) {
                assertFalse(impl.contains("brg_conv_fwd"), what + ": " + impl);
            }
            try (Tensor in = Tensor.of(x, f, 1, ic, h, w);
                    Tensor y = conv.forward(in)) {
                float[] got = y.toFloatArray();
                conv.to(Backend.REFERENCE);
                try (Tensor ref = conv.forward(in)) {
                    assertArrayEquals(ref.toFloatArray(), got, what + " on " + impl);
                }
                assertEquals(outW, y.shape()[3]);
            }
            return family;
        }
    }
}
