package dev.onednn4j.internal.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The allocator of tensors' memory and its budget for tensors never closed. */
class NativeMemoryTest {

    @Test
    void blocksAreAlignedZeroedAndFreedOnce() {
        for (long bytes : new long[] {0, 1, 63, 64, 65, 4096, 1 << 20}) {
            NativeMemory.Block b = NativeMemory.allocate(bytes);
            assertEquals(0, b.segment().address() % NativeMemory.ALIGNMENT, bytes + " bytes aligned");
            assertEquals(bytes, b.segment().byteSize());
            for (long i = 0; i < bytes; i += 7) {
                assertEquals(0, b.segment().get(ValueLayout.JAVA_BYTE, i), "zero-filled");
            }
            b.free();
            b.free(); // idempotent: no double free
        }
    }

    @Test
    void theBudgetIsAByteCountWithAnOptionalSuffix() {
        assertEquals(NativeMemory.DEFAULT_BUDGET, NativeMemory.budget(null));
        assertEquals(64L << 20, NativeMemory.DEFAULT_BUDGET);
        assertEquals(0, NativeMemory.budget("0"));
        assertEquals(12345, NativeMemory.budget("12345"));
        assertEquals(8L << 10, NativeMemory.budget("8k"));
        assertEquals(256L << 20, NativeMemory.budget(" 256M "));
        assertEquals(2L << 30, NativeMemory.budget("2g"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeMemory.budget("-1m"));
        assertEquals(
                "-Donednn4j.tensor.gcBudget=-1m is not a byte count (a non-negative integer, optionally followed by "
                        + "k, m or g)",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeMemory.budget("lots"));
    }

    /**
     * Tensors that are never closed wait for their cleaner, which only runs after a garbage collection, which native
     * memory alone never causes: without the budget, 200,000 unclosed 4 KB tensors hold 800 MB. With an 8 MB
     * budget, the allocations themselves collect, and what is held stays within a few budgets.
     */
    @Test
    void tensorsNeverClosedStayWithinTheBudget() throws Exception {
        ChildJvm.Result r = ChildJvm.run(
                        UnclosedTensors.class, List.of("-Donednn4j.tensor.gcBudget=8m", "-Xmx512m"), "200000")
                .assertSucceeded();
        long max = Long.parseLong(r.value("maxOutstanding"));
        long collections = Long.parseLong(r.value("collections"));
        assertTrue(collections > 0, "the allocations collected: " + r.out());
        assertTrue(max < 3 * (8L << 20), "held at most " + max + " bytes: " + r.out());
    }

    /** The same for what layers return: forward(x) without close. */
    @Test
    void outputsNeverClosedStayWithinTheBudget() throws Exception {
        ChildJvm.Result r = ChildJvm.run(
                        UnclosedOutputs.class, List.of("-Donednn4j.tensor.gcBudget=4m", "-Xmx512m"), "50000")
                .assertSucceeded();
        long max = Long.parseLong(r.value("maxOutstanding"));
        assertTrue(Long.parseLong(r.value("collections")) > 0, "the allocations collected: " + r.out());
        assertTrue(max < 3 * (4L << 20), "held at most " + max + " bytes: " + r.out());
    }

    /**
     * Tensors that are closed but whose working set exceeds the budget (an eager network at batch 8: activations of
     * tens of MB, each closed a layer later) are not garbage: after a collection or two finds nothing to free, the
     * allocations stop collecting. (Found by the whole-network benchmark: one System.gc() and a 10 ms wait per call.)
     */
    @Test
    void aWorkingSetLargerThanTheBudgetStopsCollectingOnceItIsSeenToBeLive() throws Exception {
        ChildJvm.Result r = ChildJvm.run(
                        LiveWorkingSet.class, List.of("-Donednn4j.tensor.gcBudget=8m", "-Xmx512m"), "200")
                .assertSucceeded();
        long collections = Long.parseLong(r.value("collections"));
        assertTrue(collections >= 1 && collections <= 3, "collections over 200 rounds of 24 MB live: " + r.out());
    }

    /**
     * After the threshold has grown for a large working set, tensors never closed are still bounded: the first
     * collections that free garbage bring the threshold back down. 400 MB of unclosed tensors hold at most a few
     * working sets.
     */
    @Test
    void afterALargeWorkingSetUnclosedTensorsStayBounded() throws Exception {
        ChildJvm.Result r = ChildJvm.run(
                        LiveThenUnclosed.class, List.of("-Donednn4j.tensor.gcBudget=8m", "-Xmx512m"), "100000")
                .assertSucceeded();
        long max = Long.parseLong(r.value("maxOutstanding"));
        assertTrue(max < 4 * (24L << 20), "held at most " + max + " bytes: " + r.out());
    }

    /** 50 rounds of a 24 MB working set, then {@code args[0]} 4 KB tensors never closed. */
    public static final class LiveThenUnclosed {
        private LiveThenUnclosed() {}

        public static void main(String[] args) {
            LiveWorkingSet.main(new String[] {"50"});
            UnclosedTensors.main(args);
        }
    }

    /**
     * A freed large block is kept and handed out again for the same size, zero-filled like a new one; no more than
     * the cache's bytes are kept (one that does not fit flushes the others); trim() returns them all.
     */
    @Test
    void largeBlocksAreReusedZeroedAndTheCacheIsBounded() throws Exception {
        ChildJvm.Result r = ChildJvm.run(LargeBlocks.class, List.of("-Donednn4j.tensor.blockCache=48m"), "0")
                .assertSucceeded();
        assertEquals("true", r.value("sameAddress"), r.out().toString());
        assertEquals("true", r.value("zeroed"), r.out().toString());
        // asked for without zeroing (Tensor.empty), a reused block keeps what it held
        assertEquals("true", r.value("keptWhenNotZeroed"), r.out().toString());
        // the third did not fit in 48 MB: the two kept were given back, the third kept
        assertEquals(Long.toString((20L << 20) + NativeMemory.ALIGNMENT - 1), r.value("cachedAfterThree"));
        assertEquals("0", r.value("cachedAfterTrim"), r.out().toString());
    }

    /** Frees and allocates 20 MB blocks; prints what it saw. */
    public static final class LargeBlocks {
        private LargeBlocks() {}

        public static void main(String[] args) {
            long bytes = 20L << 20;
            NativeMemory.Block a = NativeMemory.allocate(bytes);
            long address = a.segment().address();
            a.segment().fill((byte) 0x5a);
            a.free();
            NativeMemory.Block b = NativeMemory.allocate(bytes);
            System.out.println("sameAddress=" + (b.segment().address() == address));
            System.out.println("zeroed=" + (b.segment().mismatch(MemorySegment.ofArray(new byte[(int) bytes])) == -1));
            b.segment().fill((byte) 0x3c);
            b.free();
            b = NativeMemory.allocate(bytes, false);
            byte[] held = new byte[(int) bytes];
            java.util.Arrays.fill(held, (byte) 0x3c);
            System.out.println("keptWhenNotZeroed="
                    + (b.segment().address() == address && b.segment().mismatch(MemorySegment.ofArray(held)) == -1));
            NativeMemory.Block c = NativeMemory.allocate(bytes);
            NativeMemory.Block d = NativeMemory.allocate(bytes);
            b.free();
            c.free();
            d.free(); // a third 20 MB block does not fit in 48 MB
            System.out.println("cachedAfterThree=" + NativeMemory.cachedBytes());
            NativeMemory.trim();
            System.out.println("cachedAfterTrim=" + NativeMemory.cachedBytes());
        }
    }

    /** {@code args[0]} rounds of six 4 MB tensors alive at once, then all closed. */
    public static final class LiveWorkingSet {
        private LiveWorkingSet() {}

        public static void main(String[] args) {
            int n = Integer.parseInt(args[0]);
            for (int i = 0; i < n; i++) {
                TensorImpl[] live = new TensorImpl[6];
                for (int j = 0; j < live.length; j++) {
                    live[j] = TensorImpl.zeros(1 << 20); // 4 MB
                }
                for (TensorImpl t : live) {
                    t.close();
                }
            }
            System.out.println("collections=" + NativeMemory.collections());
        }
    }

    /** Allocates {@code args[0]} 4 KB tensors and never closes them; prints the most memory held at once. */
    public static final class UnclosedTensors {
        private UnclosedTensors() {}

        public static void main(String[] args) {
            int n = Integer.parseInt(args[0]);
            long max = 0;
            for (int i = 0; i < n; i++) {
                TensorImpl t = TensorImpl.zeros(1024);
                t.set(1f, i % 1024);
                max = Math.max(max, NativeMemory.outstandingBytes());
            }
            System.out.println("maxOutstanding=" + max);
            System.out.println("collections=" + NativeMemory.collections());
        }
    }

    /** Runs a small convolution {@code args[0]} times with forward(x), never closing the outputs. */
    public static final class UnclosedOutputs {
        private UnclosedOutputs() {}

        public static void main(String[] args) {
            int n = Integer.parseInt(args[0]);
            long max = 0;
            OneDnn.setNumThreads(1); // what is measured is memory: no OpenMP team spinning on a busy machine
            try (Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build();
                    Tensor x = Tensor.zeros(1, 8, 8, 8)) {
                for (int i = 0; i < n; i++) {
                    conv.forward(x);
                    max = Math.max(max, NativeMemory.outstandingBytes());
                }
            }
            System.out.println("maxOutstanding=" + max);
            System.out.println("collections=" + NativeMemory.collections());
        }
    }
}
