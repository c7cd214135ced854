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
import org.junit.jupiter.params.provider.EnumSource;

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

    /**
     * forward(x, out) allocates nothing per call, whichever layouts the caller holds and however the call runs
     * (reorders included: their buffers are borrowed from the workspace pool). A count of bytes, not a timing.
     */
    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void forwardIntoOutAllocatesNothingPerCall(MemoryFormat format) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        try (Conv2d conv = Conv2d.builder(16, 16, 3).padding(1).build();
                Tensor x = Tensor.zeros(format, 1, 16, 12, 12);
                Tensor out = Tensor.zeros(format, 1, 16, 12, 12)) {
            for (int i = 0; i < 30_000; i++) {
                conv.forward(x, out);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 1_000; i++) {
                conv.forward(x, out);
            }
            assertEquals(0, threads.getCurrentThreadAllocatedBytes() - before, "bytes allocated by 1,000 calls");
        }
    }
}
