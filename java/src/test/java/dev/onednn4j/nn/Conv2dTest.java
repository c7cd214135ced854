package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Conv2d's behaviour beyond the cross-check: golden cases, shapes, plans, weights, initialisation. */
class Conv2dTest {

    /**
     * A 1x1 identity kernel with padding 2 returns the padded input. Expected values: numpy.pad of
     * arange(1, 13).reshape(3, 4) with ((2, 2), (2, 2)) and mode 'reflect', 'edge' and 'wrap', the same
     * definitions as PyTorch's reflect, replicate and circular.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void paddingModesPadAsPyTorchDoes(Backend backend) {
        float[][] expected = {
            {
                11, 10, 9, 10, 11, 12, 11, 10, 7, 6, 5, 6, 7, 8, 7, 6, 3, 2, 1, 2, 3, 4, 3, 2, 7, 6, 5, 6, 7, 8, 7, 6,
                11, 10, 9, 10, 11, 12, 11, 10, 7, 6, 5, 6, 7, 8, 7, 6, 3, 2, 1, 2, 3, 4, 3, 2
            },
            {
                1, 1, 1, 2, 3, 4, 4, 4, 1, 1, 1, 2, 3, 4, 4, 4, 1, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 6, 7, 8, 8, 8, 9, 9, 9,
                10, 11, 12, 12, 12, 9, 9, 9, 10, 11, 12, 12, 12, 9, 9, 9, 10, 11, 12, 12, 12
            },
            {
                7, 8, 5, 6, 7, 8, 5, 6, 11, 12, 9, 10, 11, 12, 9, 10, 3, 4, 1, 2, 3, 4, 1, 2, 7, 8, 5, 6, 7, 8, 5, 6,
                11, 12, 9, 10, 11, 12, 9, 10, 3, 4, 1, 2, 3, 4, 1, 2, 7, 8, 5, 6, 7, 8, 5, 6
            }
        };
        PaddingMode[] modes = {PaddingMode.REFLECT, PaddingMode.REPLICATE, PaddingMode.CIRCULAR};
        float[] input = new float[12];
        for (int i = 0; i < 12; i++) {
            input[i] = i + 1;
        }
        for (int m = 0; m < modes.length; m++) {
            for (MemoryFormat format : MemoryFormat.values()) {
                try (Conv2d conv = Conv2d.builder(1, 1, 1)
                        .padding(2)
                        .paddingMode(modes[m])
                        .bias(false)
                        .build()) {
                    conv.to(backend);
                    conv.weight().copyFrom(new float[] {1});
                    try (Tensor x = Tensor.of(input, format, 1, 1, 3, 4);
                            Tensor y = conv.forward(x)) {
                        assertArrayEquals(new long[] {1, 1, 7, 8}, y.shape());
                        assertArrayEquals(expected[m], y.toFloatArray(), modes[m] + ", " + format);
                    }
                }
            }
        }
    }

    @Test
    void sameWithAnEvenKernelPutsTheExtraAtBottomAndRight() {
        // kernel 2x2 of ones, same: total padding 1 per dimension, all of it at bottom/right
        try (Conv2d conv =
                Conv2d.builder(1, 1, 2).padding(Padding.SAME).bias(false).build()) {
            conv.weight().copyFrom(new float[] {1, 1, 1, 1});
            try (Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
                    Tensor y = conv.forward(x)) {
                assertArrayEquals(new float[] {10, 6, 7, 4}, y.toFloatArray());
            }
        }
    }

    @Test
    void unbatchedInputGivesUnbatchedOutput() {
        try (Conv2d conv = Conv2d.builder(2, 3, 3).padding(1).seed(5).build();
                Tensor x3 = Tensor.of(seq(40), 2, 4, 5);
                Tensor x4 = Tensor.of(seq(40), 1, 2, 4, 5);
                Tensor y3 = conv.forward(x3);
                Tensor y4 = conv.forward(x4)) {
            assertArrayEquals(new long[] {3, 4, 5}, y3.shape());
            assertArrayEquals(y4.toFloatArray(), y3.toFloatArray());
        }
    }

    static float[] seq(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i * 7 % 11) - 5;
        }
        return a;
    }

    @Test
    void zeroBatchGivesAnEmptyOutput() {
        try (Conv2d conv = Conv2d.builder(3, 4, 3).build();
                Tensor x = Tensor.zeros(0, 3, 8, 8);
                Tensor y = conv.forward(x)) {
            assertArrayEquals(new long[] {0, 4, 6, 6}, y.shape());
            assertEquals(0, y.toFloatArray().length);
        }
    }

    @Test
    void channelsLastKeepsItsFormat() {
        try (Conv2d conv = Conv2d.builder(64, 64, 3).padding(1).build();
                Tensor x = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 2, 64, 8, 8);
                Tensor y = conv.forward(x)) {
            assertEquals(MemoryFormat.CHANNELS_LAST, y.memoryFormat());
        }
    }

    @Test
    void changedWeightsAreReorderedAgainBeforeTheNextCall() {
        try (Conv2d conv = Conv2d.builder(2, 2, 1).bias(false).build();
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)) {
            conv.weight().copyFrom(new float[] {1, 0, 0, 1}); // identity
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(x.toFloatArray(), y.toFloatArray());
            }
            conv.weight().copyFrom(new float[] {0, 1, 1, 0}); // swap channels
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(new float[] {5, 6, 7, 8, 1, 2, 3, 4}, y.toFloatArray());
            }
            // written through the segment: markModified() tells the layer
            conv.weight().segment().set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, 2f);
            conv.weight().markModified();
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(new float[] {7, 10, 13, 16, 1, 2, 3, 4}, y.toFloatArray());
            }
        }
    }

    /**
     * Weights written through a tensor that wraps their memory are the weights' own writes: the wrap shares their
     * storage and version, so the layer reorders them again (it used to keep running on the stale copy, silently).
     */
    @Test
    void weightsWrittenThroughAWrapOfTheirMemoryAreReorderedAgain() {
        try (Conv2d conv = Conv2d.builder(2, 2, 1).bias(false).build();
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)) {
            conv.weight().copyFrom(new float[] {1, 0, 0, 1}); // identity
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(x.toFloatArray(), y.toFloatArray());
            }
            try (Tensor w = Tensor.wrap(conv.weight().readOnlySegment(), 2, 2, 1, 1)) {
                assertTrue(w.isReadOnly());
            }
            try (Tensor w = Tensor.wrap(conv.weight().segment(), 2, 2, 1, 1)) {
                try (Tensor y = conv.forward(x)) { // a call between handing out the segment and writing
                    assertArrayEquals(x.toFloatArray(), y.toFloatArray());
                }
                w.copyFrom(new float[] {0, 1, 1, 0}); // swap channels
                try (Tensor y = conv.forward(x)) {
                    assertArrayEquals(new float[] {5, 6, 7, 8, 1, 2, 3, 4}, y.toFloatArray());
                }
            }
        }
    }

    /** Handing out a writable segment counts as a write: a write through it before the next call is seen. */
    @Test
    void weightsWrittenThroughANewSegmentAreReorderedAgain() {
        try (Conv2d conv = Conv2d.builder(2, 2, 1).bias(false).build();
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)) {
            conv.weight().copyFrom(new float[] {1, 0, 0, 1});
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(x.toFloatArray(), y.toFloatArray());
            }
            conv.weight().segment().set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, 2f); // no markModified()
            try (Tensor y = conv.forward(x)) {
                assertArrayEquals(new float[] {2, 4, 6, 8, 5, 6, 7, 8}, y.toFloatArray());
            }
        }
    }

    @Test
    void initialisationIsPyTorchsUniformAndSeedable() {
        try (Conv2d a = Conv2d.builder(4, 6, 3).groups(2).seed(7).build();
                Conv2d b = Conv2d.builder(4, 6, 3).groups(2).seed(7).build();
                Conv2d c = Conv2d.builder(4, 6, 3).groups(2).seed(8).build()) {
            assertArrayEquals(a.weight().toFloatArray(), b.weight().toFloatArray());
            assertArrayEquals(a.bias().toFloatArray(), b.bias().toFloatArray());
            assertNotEquals(
                    java.util.Arrays.toString(a.weight().toFloatArray()),
                    java.util.Arrays.toString(c.weight().toFloatArray()));
            double bound = 1 / Math.sqrt(4 / 2 * 3 * 3); // fan_in = in/groups * kH * kW = 18
            double max = 0;
            for (float v : a.weight().toFloatArray()) {
                assertTrue(Math.abs(v) <= bound, v + " within +-" + bound);
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > bound * 0.8, "spread over the whole range: max " + max);
            for (float v : a.bias().toFloatArray()) {
                assertTrue(Math.abs(v) <= bound);
            }
            assertArrayEquals(new long[] {6, 2, 3, 3}, a.weight().shape());
        }
        try (Conv2d noBias = Conv2d.builder(1, 1, 1).bias(false).build()) {
            assertNull(noBias.bias());
            assertEquals(1, noBias.parameters().size());
        }
    }

    @Test
    void reprIsPyTorchs() {
        try (Conv2d a = Conv2d.builder(16, 33, 3).stride(2).build();
                Conv2d b = Conv2d.builder(16, 33, 3, 5)
                        .stride(2, 1)
                        .padding(4, 2)
                        .dilation(3, 1)
                        .build();
                Conv2d c = Conv2d.builder(4, 4, 3)
                        .padding(Padding.SAME)
                        .groups(4)
                        .bias(false)
                        .paddingMode(PaddingMode.REFLECT)
                        .build()) {
            assertEquals("Conv2d(16, 33, kernel_size=(3, 3), stride=(2, 2))", a.toString());
            assertEquals(
                    "Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))", b.toString());
            assertEquals(
                    "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, groups=4, bias=False, "
                            + "padding_mode=reflect)",
                    c.toString());
        }
    }

    @Test
    void outputShapeFollowsTheFormula() {
        try (Conv2d conv = Conv2d.builder(7, 17, 7).stride(3).padding(2).build()) {
            assertArrayEquals(new long[] {11, 17, 10, 10}, conv.outputShape(11, 7, 30, 30));
            assertArrayEquals(new long[] {17, 10, 10}, conv.outputShape(7, 30, 30));
        }
        try (Conv2d conv = Conv2d.builder(16, 33, 3, 5)
                .stride(2, 1)
                .padding(4, 2)
                .dilation(3, 1)
                .build()) {
            // PyTorch's docs example: input (20, 16, 50, 100) -> (20, 33, 26, 100)
            assertArrayEquals(new long[] {20, 33, 26, 100}, conv.outputShape(20, 16, 50, 100));
        }
    }
}
