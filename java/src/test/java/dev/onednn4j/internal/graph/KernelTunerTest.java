package dev.onednn4j.internal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class KernelTunerTest {

    @Test
    void oneDnnsFirstChoiceStaysUnlessAnotherIsMoreThanTheMarginFaster() {
        assertEquals(0, KernelTuner.pick(new double[] {1.0}));
        assertEquals(0, KernelTuner.pick(new double[] {1.0, 0.96, 1.2}), "4% faster is within the noise");
        assertEquals(0, KernelTuner.pick(new double[] {1.0, 1.0 - KernelTuner.MARGIN}), "exactly the margin");
        assertEquals(1, KernelTuner.pick(new double[] {1.0, 0.90, 0.93}));
        assertEquals(2, KernelTuner.pick(new double[] {1.0, 0.93, 0.80}), "the fastest, not the first fast one");
        assertEquals(0, KernelTuner.pick(new double[] {0.5, 0.9, 2.0}));
    }
}
