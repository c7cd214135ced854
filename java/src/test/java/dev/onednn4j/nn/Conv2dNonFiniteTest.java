package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Zero padding means the padded taps exist and hold zeros, as PyTorch's convolution pads and then convolves: an
 * infinite weight on a padded zero gives NaN. oneDNN's kernels skip padded taps, so such weights are run on an
 * explicitly padded input; both backends give PyTorch's answer.
 */
class Conv2dNonFiniteTest {
    static final float NAN = Float.NaN;
    static final float INF = Float.POSITIVE_INFINITY;

    /**
     * {@code F.conv2d(torch.ones(1, 1, 3, 3), w, padding=1)} with {@code w = torch.ones(1, 1, 3, 3); w[0, 0, 0, 0] =
     * inf}, printed by PyTorch 1.13 (the same in float32, float64 and channels-last).
     */
    static final float[] PYTORCH = {NAN, NAN, NAN, NAN, INF, INF, NAN, INF, INF};

    static Conv2d layer() {
        Conv2d conv = Conv2d.builder(1, 1, 3).padding(1).bias(false).build();
        float[] w = new float[9];
        Arrays.fill(w, 1);
        w[0] = INF;
        conv.weight().copyFrom(w);
        return conv;
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void anInfiniteWeightOnZeroPaddingGivesNanOnBothBackends(MemoryFormat format) {
        float[] ones = new float[9];
        Arrays.fill(ones, 1);
        try (Conv2d conv = layer();
                Tensor x = Tensor.of(ones, format, 1, 1, 3, 3)) {
            assertTrue(conv.oneDnnPlan(format, 1, 1, 3, 3).padsInputInJava());
            for (Backend backend : Backend.values()) {
                conv.to(backend);
                try (Tensor y = conv.forward(x);
                        Tensor out = Tensor.zeros(format, 1, 1, 3, 3)) {
                    conv.forward(x, out);
                    assertArrayEquals(PYTORCH, y.toFloatArray(), backend + ": " + Arrays.toString(y.toFloatArray()));
                    assertArrayEquals(PYTORCH, out.toFloatArray(), backend + ", forward(x, out)");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void finiteWeightsAgainGoBackToOneDnnsOwnPadding(MemoryFormat format) {
        float[] ones = new float[9];
        Arrays.fill(ones, 1);
        try (Conv2d conv = layer();
                Tensor x = Tensor.of(ones, format, 1, 1, 3, 3)) {
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(PYTORCH, y.toFloatArray());
            }
            conv.weight().copyFrom(ones);
            assertFalse(conv.oneDnnPlan(format, 1, 1, 3, 3).padsInputInJava());
            try (Tensor y = conv.forward(x)) {
                // the number of input pixels each 3x3 window covers
                assertArrayEquals(new float[] {4, 6, 4, 6, 9, 6, 4, 6, 4}, y.toFloatArray());
            }
        }
    }
}
