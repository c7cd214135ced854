package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The public face of the cross-check: right outputs pass, a wrong one fails, misuse is refused clearly. */
class ReferenceTest {

    static Tensor input(long... shape) {
        SplittableRandom r = new SplittableRandom(5);
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    static float[] shifted(float[] v, float by) {
        for (int i = 0; i < v.length; i++) {
            v[i] += by;
        }
        return v;
    }

    @Test
    void oneDnnsConvolutionIsWithinTheBoundAndAWrongElementIsNot() {
        try (Conv2d conv = Conv2d.builder(5, 7, 3).stride(2).padding(1).seed(3).build();
                Tensor x = input(2, 5, 11, 9);
                Tensor y = conv.forward(x)) {
            Reference ref = Reference.of(conv, x);
            assertArrayEquals(y.shape(), ref.shape());
            Reference.Check ok = ref.check(y);
            assertTrue(ok.passed(), ok.report());
            assertEquals(y.numel(), ok.elements());
            assertTrue(ok.worstShare() <= 1, ok.report());

            float[] wrong = y.toFloatArray();
            wrong[17] += (float) (2 * ref.bounds()[17] + 1e-6);
            try (Tensor bad = Tensor.of(wrong, y.shape())) {
                Reference.Check c = ref.check(bad);
                assertFalse(c.passed(), c.report());
                assertEquals(1, c.violations(), c.report());
                assertTrue(c.report().contains("(n=0, c=0, h=3, w=2)"), "names the element by index: " + c.report());
            }
        }
    }

    @Test
    void sampledElementsAreTheWholeReferencesElements() {
        try (Conv2d conv = Conv2d.builder(4, 6, 3)
                        .groups(2)
                        .dilation(2)
                        .padding(2)
                        .seed(4)
                        .build();
                Tensor x = input(3, 4, 8, 10)) {
            Reference whole = Reference.of(conv, x);
            long[] at = {0, 1, 77, whole.values().length - 1};
            Reference.Element[] e = Reference.at(conv, x, at);
            for (int k = 0; k < at.length; k++) {
                assertEquals(whole.values()[(int) at[k]], e[k].value(), "value at " + at[k]);
                assertEquals(whole.bounds()[(int) at[k]], e[k].bound(), "bound at " + at[k]);
            }
            IllegalArgumentException out =
                    assertThrows(IllegalArgumentException.class, () -> Reference.at(conv, x, whole.values().length));
            assertTrue(out.getMessage().contains("out of range for the output shape [3, 6, 8, 10]"), out.getMessage());
        }
    }

    @Test
    void anActivationsOutputIsWithinItsBound() {
        try (ReLU relu = new ReLU();
                Tensor x = Tensor.of(shifted(input(2, 3, 4, 4).toFloatArray(), 0.7f), 2, 3, 4, 4);
                Tensor y = relu.forward(x)) { // mostly positive: a check of values, not of zeros
            Reference ref = Reference.of(relu, x);
            assertTrue(ref.check(y).passed(), ref.check(y).report());
            double[] v = ref.values();
            double[] b = ref.bounds();
            for (int i = 0; i < v.length; i++) {
                assertTrue(b[i] <= Math.ulp((float) v[i]), "max(x, 0) rounds once at most: " + b[i]);
            }
        }
    }

    @Test
    void misuseIsRefusedClearly() {
        try (Sequential net = new Sequential(new ReLU());
                Conv2d conv = Conv2d.builder(3, 2, 1).build();
                Tensor x = input(1, 3, 2, 2);
                Tensor other = input(1, 2, 3, 3)) {
            IllegalArgumentException container =
                    assertThrows(IllegalArgumentException.class, () -> Reference.of(net, x));
            assertTrue(container.getMessage().contains("is not a single-operation layer"), container.getMessage());
            Reference ref = Reference.of(conv, x);
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> ref.check(other));
            assertTrue(
                    shape.getMessage().contains("the output's shape [1, 2, 3, 3] is not the reference's [1, 2, 2, 2]"),
                    shape.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Reference.of(conv, other)); // 2 channels, not 3
        }
    }
}
