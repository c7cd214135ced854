package dev.onednn4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TensorTest {

    static float[] seq(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void ofCopiesAndReadsBackInLogicalOrder() {
        try (Tensor t = Tensor.of(seq(24), 2, 3, 2, 2)) {
            assertArrayEquals(new long[] {2, 3, 2, 2}, t.shape());
            assertArrayEquals(new long[] {12, 4, 2, 1}, t.strides());
            assertEquals(24, t.numel());
            assertEquals(4, t.dim());
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(seq(24), t.toFloatArray());
            assertEquals(13f, t.get(1, 0, 0, 1));
            assertEquals(0, t.segment().address() % Tensor.ALIGNMENT, "64-byte aligned");
        }
    }

    @Test
    void channelsLastStoresNhwcButReadsLogically() {
        try (Tensor t = Tensor.of(seq(24), MemoryFormat.CHANNELS_LAST, 2, 3, 2, 2)) {
            assertArrayEquals(new long[] {12, 1, 6, 3}, t.strides());
            assertArrayEquals(seq(24), t.toFloatArray());
            // memory holds (n, h, w, c): the first pixel's three channels are 0, 4, 8
            MemorySegment m = t.segment();
            assertEquals(0f, m.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(4f, m.getAtIndex(ValueLayout.JAVA_FLOAT, 1));
            assertEquals(8f, m.getAtIndex(ValueLayout.JAVA_FLOAT, 2));
            try (Tensor c = t.toMemoryFormat(MemoryFormat.CONTIGUOUS)) {
                assertArrayEquals(seq(24), c.toFloatArray());
                assertEquals(MemoryFormat.CONTIGUOUS, c.memoryFormat());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(MemoryFormat.CHANNELS_LAST, 3, 4, 4));
    }

    @Test
    void wrapUsesCallerMemoryWithoutCopying() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(ValueLayout.JAVA_FLOAT, 6);
            Tensor t = Tensor.wrap(mem, 2, 3);
            mem.setAtIndex(ValueLayout.JAVA_FLOAT, 4, 42f);
            assertEquals(42f, t.get(1, 1), "sees the caller's writes");
            t.set(7f, 0, 0);
            assertEquals(7f, mem.getAtIndex(ValueLayout.JAVA_FLOAT, 0), "writes land in the caller's memory");
            t.close();
            assertTrue(t.isClosed());
            mem.setAtIndex(ValueLayout.JAVA_FLOAT, 0, 1f); // still the caller's, still alive
            assertThrows(IllegalStateException.class, t::toFloatArray);
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(mem, 2, 4));
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(MemorySegment.ofArray(new float[6]), 6));
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(mem.asSlice(2), 2));
        }
    }

    @Test
    void wrappedMemoryFreedByItsOwnerOrConfinedElsewhereIsRefusedNotCrashed() throws Exception {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.wrap(arena.allocate(ValueLayout.JAVA_FLOAT, 4), 1, 1, 2, 2);
        try (var conv = dev.onednn4j.nn.Conv2d.builder(1, 1, 1).build(); Tensor out = Tensor.zeros(1, 1, 2, 2)) {
            conv.forward(t, out); // fine while alive, on its own thread
            Throwable[] fromOther = new Throwable[1];
            Thread other = new Thread(() -> {
                try {
                    conv.forward(t, out);
                } catch (Throwable x) {
                    fromOther[0] = x;
                }
            });
            other.start();
            other.join();
            assertTrue(fromOther[0] instanceof IllegalStateException, String.valueOf(fromOther[0]));
            assertTrue(fromOther[0].getMessage().contains("confined to another thread"), fromOther[0].getMessage());
            arena.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> conv.forward(t, out));
            assertTrue(e.getMessage().contains("arena has been closed by its owner"), e.getMessage());
        }
    }

    @Test
    void closeFreesAtOnceAndUseAfterCloseThrows() {
        Tensor t = Tensor.zeros(4);
        MemorySegment seg = t.segment();
        t.close();
        t.close(); // twice: nothing
        assertTrue(t.isClosed());
        assertFalse(seg.scope().isAlive(), "memory freed at close");
        IllegalStateException e = assertThrows(IllegalStateException.class, t::toFloatArray);
        assertEquals("Tensor(shape=[4], dtype=float32, closed) is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.copyFrom(new float[4]));
        assertThrows(IllegalStateException.class, t::segment);
    }

    @Test
    void viewsShareMemoryAndKeepItAliveUntilTheLastIsClosed() {
        Tensor base = Tensor.of(seq(6), 2, 3);
        MemorySegment memory = base.segment();
        Tensor v = base.view(3, 2);
        assertEquals(3f, v.get(1, 1));
        v.set(9f, 0, 0);
        assertEquals(9f, base.get(0, 0));
        v.close();
        assertFalse(base.isClosed(), "closing a view leaves the base");
        Tensor v2 = base.view(6);
        base.close();
        assertTrue(base.isClosed());
        assertFalse(v2.isClosed(), "an open view keeps the memory, as a PyTorch storage lives while a tensor uses it");
        assertEquals(9f, v2.get(0));
        assertTrue(memory.scope().isAlive());
        v2.close();
        assertFalse(memory.scope().isAlive(), "the last tensor over the memory frees it at close");
        assertThrows(IllegalStateException.class, v2::toFloatArray);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.zeros(2, 3).view(4));
        assertEquals("shape '[4]' is invalid for input of size 6", e.getMessage());
    }

    @Test
    void versionCountsWrites() {
        try (Tensor t = Tensor.zeros(3)) {
            long v0 = t.version();
            t.copyFrom(new float[3]);
            t.set(1f, 2);
            assertEquals(v0 + 2, t.version());
            t.markModified();
            assertEquals(v0 + 3, t.version());
        }
    }

    @Test
    void badShapesAndIndexes() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> Tensor.zeros(Long.MAX_VALUE, 2));
        assertEquals("shape [9223372036854775807, 2] of float32 has more bytes than a long counts (2^63 - 1)",
                huge.getMessage());
        try (Tensor t = Tensor.zeros(2, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
            assertEquals("index 2 is out of bounds for dimension 0 with size 2", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.get(1));
            assertThrows(IndexOutOfBoundsException.class, () -> t.size(2));
            assertEquals(3, t.size(-1));
        }
    }

    @Test
    void addIsElementwiseAcrossFormats() {
        try (Tensor a = Tensor.of(seq(8), 1, 2, 2, 2);
             Tensor b = Tensor.of(seq(8), MemoryFormat.CHANNELS_LAST, 1, 2, 2, 2);
             Tensor c = a.add(b)) {
            float[] expected = seq(8);
            for (int i = 0; i < 8; i++) {
                expected[i] *= 2;
            }
            assertArrayEquals(expected, c.toFloatArray());
        }
    }

    @Test
    void aTensorNeverClosedIsFreedOnceUnreachable() throws InterruptedException {
        MemorySegment seg = leak();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (seg.scope().isAlive() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertFalse(seg.scope().isAlive(), "the Cleaner safety net freed the memory of an unreachable tensor");
    }

    private static MemorySegment leak() {
        return Tensor.zeros(1024).segment(); // the tensor itself becomes unreachable here
    }
}
