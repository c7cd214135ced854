package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.exec.PlanChoice;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How a layer chooses the way it runs a call on the caller's layouts: by measurement, once per machine (remembered for
 * the next layer and the next JVM), or oneDNN's default when measuring is turned off; and the call path allocates
 * nothing whatever the layouts.
 */
class LayoutChoiceTest {

    private static <T> T withProperty(String name, String value, Supplier<T> body) {
        String old = System.getProperty(name);
        System.setProperty(name, value);
        try {
            return body.get();
        } finally {
            if (old == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, old);
            }
        }
    }

    @Test
    void withMeasuringOffAChannelsLastCallIsReadInPlaceAndAnNchwOneIsReordered() {
        withProperty("onednn4j.layoutChoice", "first", () -> {
            try (Conv2d conv = Conv2d.builder(64, 64, 3).padding(1).build()) {
                Conv2d.OneDnnPlan nhwc = conv.oneDnnPlan(MemoryFormat.CHANNELS_LAST, 1, 64, 56, 56);
                assertFalse(nhwc.reordersInput() || nhwc.reordersOutput(), nhwc.description());
                Conv2d.OneDnnPlan nchw = conv.oneDnnPlan(MemoryFormat.CONTIGUOUS, 1, 64, 56, 56);
                assertTrue(
                        nchw.reordersInput() && nchw.reordersOutput(),
                        "oneDNN's default asks for its own layout, so NCHW is reordered in and out: "
                                + nchw.description());
            }
            return null;
        });
    }

    @Test
    void aChoiceIsTimedOnceAndRememberedForTheNextLayerAndTheNextJvm(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("kernel-choices.txt");
        String first = withProperty("onednn4j.kernelCache", file.toString(), () -> {
            long[] before = PlanChoice.counts();
            Conv2d.OneDnnPlan plan;
            try (Conv2d conv = Conv2d.builder(16, 24, 3).padding(1).stride(2).build()) {
                plan = conv.oneDnnPlan(MemoryFormat.CONTIGUOUS, 1, 16, 30, 30);
            }
            long[] after = PlanChoice.counts();
            assertEquals(before[0] + 1, after[0], "the first layer times its candidates");
            try (Conv2d again = Conv2d.builder(16, 24, 3).padding(1).stride(2).build()) {
                assertEquals(
                        plan.description(),
                        again.oneDnnPlan(MemoryFormat.CONTIGUOUS, 1, 16, 30, 30).description());
            }
            long[] last = PlanChoice.counts();
            assertEquals(after[0], last[0], "the second layer times nothing");
            assertEquals(after[1] + 1, last[1], "the second layer reuses the choice");
            return plan.implementation();
        });
        String saved = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(saved.contains("[1, 16, 30, 30]") && saved.contains(first), saved + "\nvs " + first);
    }

    @Test
    void anUnknownSettingIsRefusedNamingTheChoices() {
        IllegalArgumentException e;
        try (Conv2d conv = Conv2d.builder(3, 4, 3).build();
                Tensor x = Tensor.zeros(1, 3, 9, 9)) {
            e = withProperty(
                    "onednn4j.layoutChoice",
                    "fastest",
                    () -> assertThrows(IllegalArgumentException.class, () -> conv.forward(x)));
        }
        assertEquals("-Donednn4j.layoutChoice must be measure or first, got 'fastest'", e.getMessage());
    }

    /** The layers that choose how a call runs: a 3x3 and a depthwise convolution, max pooling, batch normalization. */
    enum Layer {
        CONV_3X3,
        DEPTHWISE,
        MAX_POOL,
        BATCH_NORM;

        OperationModule build() {
            return switch (this) {
                case CONV_3X3 -> Conv2d.builder(16, 16, 3).padding(1).build();
                case DEPTHWISE ->
                    Conv2d.builder(16, 16, 3).padding(1).groups(16).build();
                case MAX_POOL -> MaxPool2d.builder(3).stride(2).padding(1).build();
                case BATCH_NORM -> {
                    BatchNorm2d norm = new BatchNorm2d(16);
                    norm.eval();
                    yield norm;
                }
            };
        }

        long[] outputShape() {
            return this == MAX_POOL ? new long[] {1, 16, 6, 6} : new long[] {1, 16, 12, 12};
        }
    }

    /**
     * forward(x, out) allocates nothing per call, whichever layouts the caller holds and however the call runs
     * (reorders included: their buffers are borrowed from the workspace pool), for every layer that chooses. A count
     * of bytes, not a timing.
     */
    @ParameterizedTest
    @CsvSource({
        "CONTIGUOUS, CONV_3X3",
        "CHANNELS_LAST, CONV_3X3",
        "CONTIGUOUS, DEPTHWISE",
        "CHANNELS_LAST, DEPTHWISE",
        "CONTIGUOUS, MAX_POOL",
        "CHANNELS_LAST, MAX_POOL",
        "CONTIGUOUS, BATCH_NORM",
        "CHANNELS_LAST, BATCH_NORM"
    })
    void forwardIntoOutAllocatesNothingPerCall(MemoryFormat format, Layer layer) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (OperationModule m = layer.build();
                Tensor x = Tensor.zeros(format, 1, 16, 12, 12);
                Tensor out = Tensor.zeros(format, layer.outputShape())) {
            for (int i = 0; i < 30_000; i++) {
                m.forward(x, out);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 1_000; i++) {
                m.forward(x, out);
            }
            assertEquals(0, threads.getCurrentThreadAllocatedBytes() - before, "bytes allocated by 1,000 calls");
        }
    }
}
