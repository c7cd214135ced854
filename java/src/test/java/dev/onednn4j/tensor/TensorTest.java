package dev.onednn4j.tensor;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class TensorTest {

    static float[] seq(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    /** The public enums and the machinery's own stay in step: the same constants, in the same order. */
    @Test
    void thePublicTypesMapOntoTheMachinerysOneForOne() {
        assertEquals(
                java.util.Arrays.stream(DType.values()).map(Enum::name).toList(),
                java.util.Arrays.stream(dev.onednn4j.internal.memory.ElementType.values())
                        .map(Enum::name)
                        .toList());
        assertEquals(
                java.util.Arrays.stream(MemoryFormat.values()).map(Enum::name).toList(),
                java.util.Arrays.stream(dev.onednn4j.internal.memory.Format.values())
                        .map(Enum::name)
                        .toList());
        assertEquals("bfloat16", DType.BFLOAT16.toString());
        assertEquals(2, DType.BFLOAT16.byteSize());
        assertEquals("channels_last", MemoryFormat.CHANNELS_LAST.toString());
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
        @SuppressWarnings("MustBeClosedChecker") // closed by hand below: the test is what happens after that
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.wrap(arena.allocate(ValueLayout.JAVA_FLOAT, 4), 1, 1, 2, 2);
        try (var conv = dev.onednn4j.nn.Conv2d.builder(1, 1, 1).build();
                Tensor out = Tensor.zeros(1, 1, 2, 2)) {
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

    // ---- memory: wraps of a tensor's memory, segments handed out, allocation ---------------------

    /**
     * A wrap of memory that lies inside a live tensor is another tensor over that tensor's storage, as a view is: one
     * version counter (a layer holding a derived copy sees writes through either) and one lifetime (the memory lives
     * until the last of them is closed).
     */
    @Test
    void aWrapOfATensorsMemorySharesItsVersionAndLifetime() {
        Tensor t = Tensor.of(seq(8), 2, 4);
        Tensor half = Tensor.wrap(t.readOnlySegment().asSlice(16), 4); // read-only: a read-only wrap
        Tensor whole = Tensor.wrap(t.segment(), 2, 4);
        assertTrue(half.isReadOnly());
        assertFalse(whole.isReadOnly());
        long v = t.version();
        whole.set(-1f, 1, 3);
        assertTrue(t.version() > v, "a write through the wrap advances the tensor's version");
        assertEquals(whole.version(), t.version());
        assertEquals(-1f, half.get(3));
        MemorySegment exposed = whole.segment();
        t.close();
        assertFalse(whole.isClosed(), "the wraps keep the memory, as views do");
        assertEquals(-1f, whole.get(1, 3));
        whole.close();
        assertTrue(exposed.scope().isAlive(), "half still holds it");
        assertArrayEquals(new float[] {4, 5, 6, -1}, half.toFloatArray());
        half.close();
        assertFalse(exposed.scope().isAlive(), "freed with the last tensor over it");
    }

    @Test
    void aWrapRunningPastTheEndOfATensorsMemoryIsRefused() {
        try (Tensor t = Tensor.zeros(4)) {
            MemorySegment past = t.segment().asSlice(8).reinterpret(64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(past, 4));
            assertEquals(
                    "segment of 16 bytes starts 8 bytes into the 16-byte memory of a tensor and runs past its end",
                    e.getMessage());
        }
    }

    @Test
    void aWrapOfAClosedTensorsSegmentIsRefused() {
        Tensor t = Tensor.zeros(4);
        MemorySegment stale = t.segment();
        t.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.wrap(stale, 4));
        assertEquals("segment's arena has been closed (is it the segment of a closed tensor?)", e.getMessage());
    }

    @Test
    void handingOutAWritableSegmentCountsAsAWriteAndAReadOnlyOneDoesNot() {
        try (Tensor t = Tensor.zeros(3)) {
            long v = t.version();
            MemorySegment r = t.readOnlySegment();
            assertTrue(r.isReadOnly());
            assertEquals(v, t.version(), "reading changes nothing");
            t.segment().set(ValueLayout.JAVA_FLOAT, 0, 5f);
            assertTrue(t.version() > v, "handing out a writable segment is a write");
            assertEquals(5f, r.get(ValueLayout.JAVA_FLOAT, 0));
        }
    }

    /**
     * Closing a tensor frees its memory at once (for reuse), yet a segment kept from it never reaches freed or reused
     * memory: every access throws, even after the memory has been allocated again many times.
     */
    @Test
    void aSegmentKeptPastCloseThrowsInsteadOfReachingFreedMemory() {
        Tensor t = Tensor.of(seq(16), 16);
        MemorySegment stale = t.segment();
        MemorySegment staleRead = t.readOnlySegment();
        t.close();
        for (int i = 0; i < 1000; i++) {
            Tensor.zeros(16).close(); // the same size: the allocator may hand the same memory out again
        }
        try (Tensor reused = Tensor.of(seq(16), 16)) {
            assertThrows(IllegalStateException.class, () -> stale.get(ValueLayout.JAVA_FLOAT, 0));
            assertThrows(IllegalStateException.class, () -> stale.set(ValueLayout.JAVA_FLOAT, 0, -1f));
            assertThrows(IllegalStateException.class, () -> staleRead.get(ValueLayout.JAVA_FLOAT, 4));
            assertArrayEquals(seq(16), reused.toFloatArray(), "whatever memory it got, no stale write reached it");
        }
    }

    /** Owned tensors are allocated and freed (by close and by the cleaner) from many threads at once. */
    @Test
    void ownedTensorsAreAllocatedAndFreedFromManyThreadsAtOnce() throws InterruptedException {
        int threads = 4;
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> running = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            int seed = k;
            Thread th = new Thread(() -> {
                try {
                    SplittableRandom r = new SplittableRandom(seed);
                    List<Tensor> open = new ArrayList<>();
                    for (int i = 0; i < 20_000; i++) {
                        int n = 1 + r.nextInt(300);
                        Tensor a = Tensor.zeros(n);
                        a.set(seed + 1f, n - 1);
                        if (r.nextInt(4) == 0) {
                            a.segment(); // some hand their memory out
                        }
                        if (r.nextInt(10) == 0) {
                            continue; // never closed: for the cleaner
                        }
                        open.add(a);
                        if (open.size() > 64) {
                            Tensor b = open.remove(r.nextInt(open.size()));
                            assertEquals(seed + 1f, b.get(b.numel() - 1), "nobody else wrote its memory");
                            if (b.numel() > 1) {
                                assertEquals(0f, b.get(0), "zero-filled");
                            }
                            b.close();
                        }
                    }
                    open.forEach(Tensor::close);
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            running.add(th);
            th.start();
        }
        for (Thread th : running) {
            th.join();
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void addIntoAShiftedViewOfAnOperandIsRefused() {
        try (Tensor x = Tensor.of(seq(8), 8);
                Tensor a = Tensor.wrap(x.segment(), 6);
                Tensor b = Tensor.wrap(x.segment().asSlice(8), 6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add_(b));
            assertEquals(
                    "unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                            + "single memory location. Please clone() the tensor before performing the operation. "
                            + "(add: the operand overlaps the tensor written without being the same elements (it "
                            + "may be the same tensor, or share no memory with it))",
                    e.getMessage());
            assertArrayEquals(seq(8), x.toFloatArray(), "nothing written");
            a.add_(a); // the same elements: in place, as PyTorch allows
            assertArrayEquals(new float[] {0, 2, 4, 6, 8, 10, 6, 7}, x.toFloatArray());
        }
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
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Tensor.zeros(2, 3).view(4));
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
        IllegalArgumentException huge =
                assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(Long.MAX_VALUE, 2));
        assertEquals(
                "shape [9223372036854775807, 2] of float32 has more bytes than a long counts (2^63 - 1)",
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

    // ---- element-wise add and relu: exact, so bit-identical to a Java loop ------------------------

    /** Random floats of every kind an exact operation must get right: signed zeros, tiny, huge, near overflow. */
    static float[] hostile(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float sign = r.nextBoolean() ? 1 : -1;
            a[i] = switch (r.nextInt(8)) {
                case 0 -> sign * 0f; // +0 and -0
                case 1 -> sign * (float) r.nextDouble(0, 1e-38); // subnormal and tiny
                case 2 -> sign * Float.MIN_VALUE * (1 + r.nextInt(4));
                case 3 -> sign * (float) r.nextDouble(1e30, Float.MAX_VALUE); // huge: sums may overflow to inf
                case 4 -> sign * Math.scalb((float) r.nextDouble(1, 2), r.nextInt(-126, 127));
                default -> (float) r.nextDouble(-4, 4);
            };
        }
        return a;
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }

    static float[] javaAdd(float[] a, float[] b) {
        float[] c = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] + b[i];
        }
        return c;
    }

    /** {@code max(x, 0)} as the library's reference computes it: a positive zero for every x that is not > 0. */
    static float[] javaRelu(float[] a) {
        float[] c = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] > 0 ? a[i] : 0f;
        }
        return c;
    }

    static final long[][] OP_SHAPES = {{2, 5, 7, 3}, {1, 16, 3, 3}, {3, 1, 4, 9}};

    @Test
    void addAndAddInPlaceAreBitIdenticalToAJavaLoopAcrossFormats() {
        int seed = 0;
        for (long[] shape : OP_SHAPES) {
            int n = (int) (shape[0] * shape[1] * shape[2] * shape[3]);
            for (MemoryFormat fa : MemoryFormat.values()) {
                for (MemoryFormat fb : MemoryFormat.values()) {
                    float[] a = hostile(++seed, n);
                    float[] b = hostile(++seed, n);
                    int[] expected = bits(javaAdd(a, b));
                    String what = java.util.Arrays.toString(shape) + " " + fa + " + " + fb;
                    try (Tensor x = Tensor.of(a, fa, shape);
                            Tensor y = Tensor.of(b, fb, shape);
                            Tensor z = x.add(y)) {
                        assertEquals(fa, z.memoryFormat(), "the result takes the first operand's format");
                        assertArrayEquals(shape, z.shape());
                        assertArrayEquals(expected, bits(z.toFloatArray()), what);
                        assertArrayEquals(bits(a), bits(x.toFloatArray()), "add leaves its operands");
                        assertArrayEquals(bits(b), bits(y.toFloatArray()), "add leaves its operands");
                        assertSame(x, x.add_(y), "add_ returns this");
                        assertArrayEquals(expected, bits(x.toFloatArray()), "add_ " + what);
                        assertArrayEquals(bits(b), bits(y.toFloatArray()));
                    }
                }
            }
        }
        float[] a = hostile(99, 1001);
        float[] b = hostile(100, 1001);
        try (Tensor x = Tensor.of(a, 1001);
                Tensor y = Tensor.of(b, 1001);
                Tensor z = x.add(y)) {
            assertArrayEquals(bits(javaAdd(a, b)), bits(z.toFloatArray()), "1-D, a length no vector divides");
        }
    }

    @Test
    void reluAndReluInPlaceAreBitIdenticalToAJavaLoop() {
        int seed = 1000;
        for (long[] shape : OP_SHAPES) {
            int n = (int) (shape[0] * shape[1] * shape[2] * shape[3]);
            for (MemoryFormat f : MemoryFormat.values()) {
                float[] a = hostile(++seed, n);
                int[] expected = bits(javaRelu(a));
                String what = java.util.Arrays.toString(shape) + " " + f;
                try (Tensor x = Tensor.of(a, f, shape);
                        Tensor y = x.relu()) {
                    assertEquals(f, y.memoryFormat());
                    assertArrayEquals(expected, bits(y.toFloatArray()), what);
                    assertArrayEquals(bits(a), bits(x.toFloatArray()), "relu leaves its operand");
                    assertSame(x, x.relu_(), "relu_ returns this");
                    assertArrayEquals(expected, bits(x.toFloatArray()), "relu_ " + what);
                }
            }
        }
    }

    /** The sign of zero: {@code max(-0.0, 0)} is +0.0 in the library's reference, the same on oneDNN. */
    @Test
    void reluOfNegativeZeroAndOfNegativesIsPositiveZero() {
        float[] a = {-0f, 0f, -1f, -Float.MIN_VALUE, Float.MIN_VALUE, -Float.MAX_VALUE, 3f};
        try (Tensor x = Tensor.of(a, 7);
                Tensor y = x.relu()) {
            assertArrayEquals(bits(javaRelu(a)), bits(y.toFloatArray()));
        }
    }

    /**
     * An in-place operation is a write, as {@code copyFrom} and {@code set} are: it advances {@link Tensor#version()},
     * so a layer that keeps a derived copy of the tensor (Conv2d's reordered weights) refreshes it.
     */
    @Test
    void inPlaceOperationsCountAsWrites() {
        try (Tensor x = Tensor.of(new float[] {-1, 2}, 2);
                Tensor y = Tensor.of(new float[] {1, 1}, 2)) {
            long v0 = x.version();
            x.add_(y);
            long v1 = x.version();
            x.relu_();
            long v2 = x.version();
            assertAll(
                    () -> assertTrue(v1 > v0, "add_ advances the version"),
                    () -> assertTrue(v2 > v1, "relu_ advances the version"));
        }
    }

    /**
     * What {@link #inPlaceOperationsCountAsWrites} is for: a convolution whose weights oneDNN reorders into its own
     * layout sees them changed in place, as a fresh convolution given the same weights computes.
     */
    @Test
    void aConvolutionSeesItsWeightsChangedInPlace() {
        int nw = 16 * 16 * 3 * 3;
        float[] signed = new float[nw];
        for (int i = 0; i < nw; i++) {
            signed[i] = (float) Math.cos(i);
        }
        float[] input = new float[16 * 8 * 8];
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) Math.sin(i);
        }
        List<Executable> checks = new ArrayList<>();
        for (String op : new String[] {"add_", "relu_"}) {
            try (var conv = dev.onednn4j.nn.Conv2d.builder(16, 16, 3)
                            .padding(1)
                            .bias(false)
                            .seed(1)
                            .build();
                    var fresh = dev.onednn4j.nn.Conv2d.builder(16, 16, 3)
                            .padding(1)
                            .bias(false)
                            .seed(2)
                            .build();
                    Tensor x = Tensor.of(input, MemoryFormat.CHANNELS_LAST, 1, 16, 8, 8);
                    Tensor delta = Tensor.of(signed, 16, 16, 3, 3)) {
                float[] before;
                try (Tensor y = conv.forward(x)) { // builds the plan, which reorders the weights
                    before = y.toFloatArray();
                }
                if (op.equals("add_")) {
                    conv.weight().add_(delta);
                } else {
                    conv.weight().relu_();
                }
                fresh.weight().copyFrom(conv.weight());
                try (Tensor y = conv.forward(x);
                        Tensor expected = fresh.forward(x)) {
                    float[] want = expected.toFloatArray();
                    float[] got = y.toFloatArray();
                    assertFalse(java.util.Arrays.equals(before, want), op + " changed the weights");
                    checks.add(() -> assertArrayEquals(want, got, "the weights after " + op));
                }
            }
        }
        assertAll(checks);
    }

    @Test
    void addInPlaceOfItselfDoubles() {
        for (MemoryFormat f : MemoryFormat.values()) {
            float[] a = hostile(7, 2 * 3 * 4 * 5);
            try (Tensor x = Tensor.of(a, f, 2, 3, 4, 5)) {
                assertSame(x, x.add_(x));
                assertArrayEquals(bits(javaAdd(a, a)), bits(x.toFloatArray()), f.toString());
            }
        }
    }

    @Test
    void addAndReluRefuseMismatchedShapesAndOtherDtypes() {
        try (Tensor a = Tensor.zeros(2, 3);
                Tensor b = Tensor.zeros(3, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
            assertEquals(
                    "The size of tensor a [2, 3] must match the size of tensor b [3, 2] (add does not broadcast)",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> a.add_(b));
            assertEquals(
                    "The size of tensor a [2, 3] must match the size of tensor b [3, 2] (add_ does not " + "broadcast)",
                    e.getMessage());
        }
        try (Tensor a = Tensor.zeros(1, 2, 2, 2);
                Tensor b = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 1, 2, 2, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
            assertEquals(
                    "The size of tensor a [1, 2, 2, 2] must match the size of tensor b [1, 2, 2, 1] (add does not "
                            + "broadcast)",
                    e.getMessage());
        }
        try (Tensor i = Tensor.of(new long[] {1, 2, 3}, 3);
                Tensor f = Tensor.of(new float[] {1, 2, 3}, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> i.add(i));
            assertEquals("add takes float32 tensors, got Tensor(shape=[3], dtype=int64)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.add(i));
            assertEquals("add takes float32 tensors, got Tensor(shape=[3], dtype=int64)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.add_(i));
            assertEquals("add_ takes float32 tensors, got Tensor(shape=[3], dtype=int64)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> i.relu().close());
            assertEquals("relu takes float32 tensors, got Tensor(shape=[3], dtype=int64)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, i::relu_);
            assertEquals("relu takes float32 tensors, got Tensor(shape=[3], dtype=int64)", e.getMessage());
            assertArrayEquals(new long[] {1, 2, 3}, i.toLongArray(), "untouched");
            assertArrayEquals(new float[] {1, 2, 3}, f.toFloatArray(), "untouched");
        }
    }

    @Test
    void emptyTensorsAddAndReluToEmptyTensors() {
        for (MemoryFormat f : MemoryFormat.values()) {
            try (Tensor a = Tensor.zeros(f, 0, 3, 2, 2);
                    Tensor b = Tensor.zeros(0, 3, 2, 2);
                    Tensor c = a.add(b);
                    Tensor r = a.relu()) {
                assertArrayEquals(new long[] {0, 3, 2, 2}, c.shape());
                assertEquals(0, c.numel());
                assertArrayEquals(new long[] {0, 3, 2, 2}, r.shape());
                assertSame(a, a.add_(b));
                assertSame(a, a.relu_());
            }
        }
        Tensor closed = Tensor.zeros(0, 3);
        closed.close();
        try (Tensor b = Tensor.zeros(0, 3)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.add(closed));
            assertEquals("Tensor(shape=[0, 3], dtype=float32, closed) is closed", e.getMessage());
            assertThrows(IllegalStateException.class, () -> b.add_(closed));
            assertThrows(IllegalStateException.class, closed::relu_);
        }
    }

    // ---- views, reshape and flatten -------------------------------------------------------------------

    @Test
    void viewOfAChannelsLastTensorWithPixelsAndChannelsIsRefusedPointingToReshape() {
        try (Tensor t = Tensor.of(seq(8), MemoryFormat.CHANNELS_LAST, 1, 2, 2, 2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.view(8));
            assertEquals(
                    "view size is not compatible with input tensor's size and stride (at least one dimension "
                            + "spans across two contiguous subspaces): [1, 2, 2, 2] in channels_last cannot be viewed as [8]. "
                            + "Use .reshape(...) instead.",
                    e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> t.view(1, 2, 4));
            assertTrue(
                    e.getMessage().endsWith("cannot be viewed as [1, 2, 4]. Use .reshape(...) instead."),
                    e.getMessage());
        }
    }

    @Test
    void reshapeAndFlattenOfAChannelsLastTensorCopyInLogicalOrder() {
        float[] values = seq(2 * 3 * 2 * 2);
        try (Tensor t = Tensor.of(values, MemoryFormat.CHANNELS_LAST, 2, 3, 2, 2);
                Tensor f = t.flatten(1)) {
            Tensor r = t.reshape(2, -1);
            for (Tensor c : new Tensor[] {r, f}) {
                assertArrayEquals(new long[] {2, 12}, c.shape());
                assertEquals(MemoryFormat.CONTIGUOUS, c.memoryFormat());
                assertArrayEquals(values, c.toFloatArray(), "logical (N, C, H, W) order");
                assertNotEquals(t.segment().address(), c.segment().address(), "a copy");
            }
            t.set(-1f, 0, 0, 0, 0);
            assertEquals(0f, r.get(0, 0), "the copy does not follow the original");
            r.close();
            assertFalse(t.isClosed(), "closing the copy leaves the original");
            assertEquals(-1f, t.get(0, 0, 0, 0));
        }
    }

    @Test
    void flattenOfAChannelsLastTensorOfOnePixelIsAView() {
        try (Tensor t = Tensor.of(seq(3 * 4), MemoryFormat.CHANNELS_LAST, 3, 4, 1, 1);
                Tensor f = t.flatten(1);
                Tensor v = t.view(3, 4)) {
            for (Tensor c : new Tensor[] {f, v}) {
                assertArrayEquals(new long[] {3, 4}, c.shape());
                assertArrayEquals(seq(12), c.toFloatArray());
                assertEquals(t.segment().address(), c.segment().address(), "shares memory, as PyTorch's view");
            }
            t.set(-5f, 2, 1, 0, 0);
            assertEquals(-5f, f.get(2, 1));
        }
    }

    @Test
    void viewOfAChannelsLastTensorOfOneChannelIsAView() {
        try (Tensor t = Tensor.of(seq(2 * 3 * 4), MemoryFormat.CHANNELS_LAST, 2, 1, 3, 4);
                Tensor v = t.view(2, 12)) {
            assertArrayEquals(seq(24), v.toFloatArray());
            assertEquals(t.segment().address(), v.segment().address(), "shares memory, as PyTorch's view");
        }
    }

    @Test
    void viewInfersOneDimensionAndFlattenMergesARange() {
        try (Tensor t = Tensor.of(seq(120), 2, 3, 4, 5)) {
            try (Tensor v = t.view(-1)) {
                assertArrayEquals(new long[] {120}, v.shape());
                assertEquals(t.segment().address(), v.segment().address());
            }
            try (Tensor v = t.view(4, -1, 3)) {
                assertArrayEquals(new long[] {4, 10, 3}, v.shape());
                assertArrayEquals(seq(120), v.toFloatArray());
            }
            try (Tensor f = t.flatten(1, 2)) {
                assertArrayEquals(new long[] {2, 12, 5}, f.shape());
                assertEquals(t.segment().address(), f.segment().address(), "a contiguous tensor flattens to a view");
            }
            try (Tensor f = t.flatten(0)) {
                assertArrayEquals(new long[] {120}, f.shape());
            }
            try (Tensor f = t.flatten(-2)) {
                assertArrayEquals(new long[] {2, 3, 20}, f.shape());
            }
            try (Tensor f = t.flatten(2, 2)) {
                assertArrayEquals(new long[] {2, 3, 4, 5}, f.shape());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.view(-1, 7));
            assertEquals("shape '[-1, 7]' is invalid for input of size 120", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.view(-1, -1));
            assertEquals("only one dimension can be inferred, got shape [-1, -1]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.view(-2, 60));
            assertEquals("invalid shape dimension -2 in [-2, 60]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.reshape(7, 17));
            assertEquals("shape '[7, 17]' is invalid for input of size 120", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.flatten(2, 1));
            assertEquals("flatten() has invalid args: start_dim (2) cannot come after end_dim (1)", e.getMessage());
            IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class, () -> t.flatten(4));
            assertEquals("Dimension out of range (expected to be in range of [-4, 3], but got 4)", o.getMessage());
            o = assertThrows(IndexOutOfBoundsException.class, () -> t.flatten(0, -5));
            assertEquals("Dimension out of range (expected to be in range of [-4, 3], but got -5)", o.getMessage());
        }
        try (Tensor empty = Tensor.zeros(0, 4);
                Tensor v = empty.view(-1, 2)) {
            assertArrayEquals(new long[] {0, 2}, v.shape());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> empty.view(0, -1));
            assertEquals("shape '[0, -1]' is invalid for input of size 0", e.getMessage());
        }
    }

    // ---- 0-d tensors ----------------------------------------------------------------------------------

    @Test
    void zeroDimensionalTensorsHoldOneElement() {
        try (Tensor s = Tensor.zeros()) {
            assertArrayEquals(new long[0], s.shape());
            assertArrayEquals(new long[0], s.strides());
            assertEquals(0, s.dim());
            assertEquals(1, s.numel());
            assertEquals(DType.FLOAT32, s.dtype());
            assertEquals(0f, s.get());
            s.set(2.5f);
            assertEquals(2.5f, s.get());
            assertArrayEquals(new float[] {2.5f}, s.toFloatArray());
            assertEquals("Tensor(shape=[], dtype=float32)", s.toString());
            IllegalStateException e = assertThrows(IllegalStateException.class, s::getLong);
            assertEquals(
                    "Tensor(shape=[], dtype=float32) holds float32 values; getLong reads integer and bool tensors, "
                            + "use get(...)",
                    e.getMessage());
            try (Tensor f = s.flatten(0)) {
                assertArrayEquals(new long[] {1}, f.shape());
                assertEquals(2.5f, f.get(0));
            }
            try (Tensor r = s.relu();
                    Tensor a = s.add(s)) {
                assertArrayEquals(new long[0], r.shape());
                assertEquals(2.5f, r.get());
                assertEquals(5f, a.get());
            }
        }
        try (Tensor n = Tensor.zeros(DType.INT64)) {
            assertArrayEquals(new long[0], n.shape());
            assertEquals(0L, n.getLong());
            n.setLong(-9_000_000_000L);
            assertEquals(-9_000_000_000L, n.getLong());
            assertArrayEquals(new long[] {-9_000_000_000L}, n.toLongArray());
            assertEquals(-9e9f, n.get());
        }
        try (Tensor one = Tensor.of(new float[] {4f}, 1);
                Tensor v = one.view()) {
            assertArrayEquals(new long[0], v.shape());
            assertEquals(4f, v.get());
        }
    }

    // ---- dtypes -------------------------------------------------------------------------------------------

    @Test
    void int64TensorsHoldLongsExactly() {
        try (Tensor z = Tensor.zeros(DType.INT64, 3)) {
            assertEquals(DType.INT64, z.dtype());
            assertArrayEquals(new long[] {3}, z.shape());
            assertEquals(24, z.segment().byteSize());
            assertArrayEquals(new long[] {0, 0, 0}, z.toLongArray());
        }
        long[] values = {1, -2, Long.MAX_VALUE, Long.MIN_VALUE};
        try (Tensor t = Tensor.of(values, 2, 2)) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(values, t.toLongArray());
            assertEquals(Long.MIN_VALUE, t.getLong(1, 1));
            assertEquals(Long.MAX_VALUE, t.segment().getAtIndex(ValueLayout.JAVA_LONG, 2), "stored as 8-byte longs");
            t.setLong(42, 0, 1);
            assertEquals(42L, t.getLong(0, 1));
        }
        try (Tensor f = Tensor.of(new float[] {1.5f, 2f}, 2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, f::toLongArray);
            assertEquals(
                    "Tensor(shape=[2], dtype=float32) holds float32 values; toLongArray() reads integer and bool "
                            + "tensors, use toFloatArray() for floating-point ones",
                    e.getMessage());
        }
    }

    @Test
    void copyFromConvertsFloatToIntByTruncationTowardZero() {
        float[] values = {2.7f, -2.7f, 0.5f, -0.5f, -0f, 1e10f, -1.999f};
        try (Tensor f = Tensor.of(values, 7);
                Tensor i = Tensor.zeros(DType.INT64, 7)) {
            i.copyFrom(f);
            assertArrayEquals(new long[] {2, -2, 0, 0, 0, 10_000_000_000L, -1}, i.toLongArray());
        }
        try (Tensor f = Tensor.of(new float[] {2.7f, -2.7f, 100.99f, -100.99f}, 4);
                Tensor i32 = Tensor.zeros(DType.INT32, 4);
                Tensor i8 = Tensor.zeros(DType.INT8, 4)) {
            i32.copyFrom(f);
            i8.copyFrom(f);
            assertArrayEquals(new long[] {2, -2, 100, -100}, i32.toLongArray());
            assertArrayEquals(new long[] {2, -2, 100, -100}, i8.toLongArray());
        }
        try (Tensor i = Tensor.zeros(DType.INT64, 3)) {
            i.copyFrom(new float[] {3.9f, -3.9f, 0.1f});
            assertArrayEquals(new long[] {3, -3, 0}, i.toLongArray(), "copyFrom(float[]) converts the same way");
        }
    }

    @Test
    void copyFromConvertsIntToFloat() {
        try (Tensor i = Tensor.of(new long[] {3, -4, 16_777_217L, (1L << 40) + 1}, 4);
                Tensor f = Tensor.zeros(4);
                Tensor d = Tensor.zeros(DType.FLOAT64, 2);
                Tensor big = Tensor.of(new long[] {(1L << 53) - 1, -(1L << 53)}, 2)) {
            f.copyFrom(i);
            assertArrayEquals(
                    new float[] {3, -4, 0x1p24f, 0x1p40f},
                    f.toFloatArray(),
                    "rounded to the nearest float, ties to even");
            d.copyFrom(big);
            assertArrayEquals(
                    new double[] {9007199254740991.0, -9007199254740992.0},
                    d.toDoubleArray(),
                    "exact in float64 up to 2^53");
        }
        try (Tensor i32 = Tensor.zeros(DType.INT32, 2);
                Tensor f = Tensor.zeros(2)) {
            i32.copyFrom(new long[] {-7, Integer.MAX_VALUE});
            f.copyFrom(i32);
            assertArrayEquals(new float[] {-7, 0x1p31f}, f.toFloatArray());
        }
    }

    /** PyTorch converts int64 to float32 in one rounding; through float64 first, ties round twice. */
    @Test
    void int64ToFloat32RoundsOnceAsPyTorchDoes() {
        long v = (1L << 60) + (1L << 36) + 1; // just above the midpoint between two floats
        try (Tensor i = Tensor.of(new long[] {v}, 1);
                Tensor f = Tensor.zeros(1)) {
            f.copyFrom(i);
            assertEquals((float) v, f.get(0), "torch.tensor([2**60 + 2**36 + 1]).float() is 2**60 + 2**37");
            assertEquals((float) v, i.toFloatArray()[0]);
        }
    }

    @Test
    void copyFromConvertsFloat64ToFloat32AndReadsFloat64Exactly() {
        double[] values = {0.1, 1.0 / 3, 1e300, -1e-300, Math.PI, Double.MIN_VALUE, -Double.MAX_VALUE};
        try (Tensor d = Tensor.zeros(DType.FLOAT64, values.length);
                Tensor f = Tensor.zeros(values.length)) {
            MemorySegment.copy(values, 0, d.segment(), ValueLayout.JAVA_DOUBLE, 0, values.length);
            d.markModified();
            assertArrayEquals(values, d.toDoubleArray(), "float64 reads back exactly");
            f.copyFrom(d);
            float[] expected = new float[values.length];
            for (int k = 0; k < values.length; k++) {
                expected[k] = (float) values[k];
            }
            assertArrayEquals(bits(expected), bits(f.toFloatArray()), "rounded to nearest, overflow to infinity");
            assertEquals(Float.NEGATIVE_INFINITY, f.get(6));
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f.get(3)));
            try (Tensor back = f.to(DType.FLOAT64)) {
                assertEquals(DType.FLOAT64, back.dtype());
                assertEquals((double) (float) 0.1, back.toDoubleArray()[0]);
            }
        }
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        int[] in = {
            0x3F800000,
            0x3F808000,
            0x3F818000,
            0x3F808001,
            0x3F807FFF,
            0x7F7FFFFF,
            0x80000000,
            0x00000001,
            0x807FFFFF,
            0xBF808000,
            0x7F800000
        };
        // what torch.tensor(...).to(torch.bfloat16) gives for these bits (PyTorch 1.13)
        short[] expected = {
            0x3F80,
            0x3F80,
            0x3F82,
            0x3F81,
            0x3F80,
            0x7F80,
            (short) 0x8000,
            0x0000,
            (short) 0x8080,
            (short) 0xBF80,
            0x7F80
        };
        float[] f = new float[in.length];
        for (int k = 0; k < in.length; k++) {
            f[k] = Float.intBitsToFloat(in[k]);
        }
        try (Tensor x = Tensor.of(f, in.length);
                Tensor b = Tensor.zeros(DType.BFLOAT16, in.length);
                Tensor c = x.to(DType.BFLOAT16)) {
            b.copyFrom(x);
            for (Tensor t : new Tensor[] {b, c}) {
                assertEquals(DType.BFLOAT16, t.dtype());
                for (int k = 0; k < in.length; k++) {
                    assertEquals(
                            expected[k],
                            t.segment().getAtIndex(ValueLayout.JAVA_SHORT, k),
                            String.format("bfloat16 of 0x%08X", in[k]));
                }
            }
            float[] back = b.toFloatArray();
            for (int k = 0; k < in.length; k++) {
                assertEquals(expected[k] << 16, Float.floatToRawIntBits(back[k]), "bfloat16 widens exactly");
            }
        }
        try (Tensor x = Tensor.of(new float[] {Float.NaN}, 1);
                Tensor b = x.to(DType.BFLOAT16)) {
            assertTrue(Float.isNaN(b.get(0)), "NaN stays NaN");
        }
    }

    @Test
    void boolHoldsZeroOrOne() {
        try (Tensor f = Tensor.of(new float[] {0f, -0f, 2.5f, Float.NaN, -Float.MIN_VALUE}, 5);
                Tensor b = Tensor.zeros(DType.BOOL, 5);
                Tensor back = Tensor.zeros(5)) {
            b.copyFrom(f);
            assertArrayEquals(new long[] {0, 0, 1, 1, 1}, b.toLongArray(), "x != 0, as torch's .bool()");
            back.copyFrom(b);
            assertArrayEquals(new float[] {0, 0, 1, 1, 1}, back.toFloatArray());
        }
        try (Tensor i = Tensor.of(new long[] {0, 5, -1, 256}, 4);
                Tensor b = i.to(DType.BOOL)) {
            assertArrayEquals(new long[] {0, 1, 1, 1}, b.toLongArray());
            b.setLong(7, 0);
            assertEquals(1L, b.getLong(0));
            assertEquals(1, b.segment().get(ValueLayout.JAVA_BYTE, 0), "stored as the byte 1");
        }
    }

    @Test
    void wrapTakesADtype() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(ValueLayout.JAVA_INT, 4);
            for (int k = 0; k < 4; k++) {
                m.setAtIndex(ValueLayout.JAVA_INT, k, (k + 1) * -10);
            }
            try (Tensor t = Tensor.wrap(m, DType.INT32, MemoryFormat.CONTIGUOUS, 2, 2)) {
                assertEquals(DType.INT32, t.dtype());
                assertArrayEquals(new long[] {-10, -20, -30, -40}, t.toLongArray());
                t.setLong(5, 1, 1);
                assertEquals(5, m.getAtIndex(ValueLayout.JAVA_INT, 3), "writes land in the caller's memory");
            }
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> Tensor.wrap(m, DType.INT64, MemoryFormat.CONTIGUOUS, 3));
            assertEquals("segment of 16 bytes is too small for a int64 tensor of shape [3] (24 bytes)", e.getMessage());
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> Tensor.wrap(m.asSlice(2), DType.INT32, MemoryFormat.CONTIGUOUS, 1));
            assertTrue(
                    e.getMessage().startsWith("segment address 0x")
                            && e.getMessage().endsWith(" is not aligned to 4 bytes, as int32 needs"),
                    e.getMessage());
            try (Tensor bytes = Tensor.wrap(m.asSlice(1), DType.UINT8, MemoryFormat.CONTIGUOUS, 3)) {
                assertEquals(DType.UINT8, bytes.dtype(), "bytes need no alignment");
                assertArrayEquals(new long[] {255, 255, 255}, bytes.toLongArray());
            }
        }
    }

    @Test
    void theLastTensorOverTheMemoryFreesIt() {
        Tensor base = Tensor.of(seq(12), 3, 4);
        MemorySegment memory = base.segment();
        Tensor flat = base.view(12);
        Tensor pairs = flat.view(2, 6);
        Tensor reshaped = base.reshape(4, 3);
        base.close();
        assertTrue(base.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> base.view(12));
        assertEquals("Tensor(shape=[3, 4], dtype=float32, closed) is closed", e.getMessage());
        assertTrue(memory.scope().isAlive(), "three views hold it");
        flat.close();
        assertTrue(memory.scope().isAlive(), "two views hold it");
        try (Tensor again = pairs.view(12)) {
            assertArrayEquals(seq(12), again.toFloatArray(), "a view of an open view still works");
        }
        reshaped.set(-1f, 3, 2);
        assertEquals(-1f, pairs.get(1, 5));
        reshaped.close();
        assertTrue(memory.scope().isAlive());
        assertFalse(pairs.isClosed());
        pairs.close();
        assertFalse(memory.scope().isAlive(), "freed with the last tensor over it");
        assertTrue(pairs.isClosed() && flat.isClosed() && reshaped.isClosed());
        assertThrows(IllegalStateException.class, pairs::toFloatArray);
        pairs.close(); // twice: nothing, and no double free
    }
}
