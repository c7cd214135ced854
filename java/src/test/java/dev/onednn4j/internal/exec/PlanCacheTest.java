package dev.onednn4j.internal.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.dnnl.Workspace;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.Eltwise;
import dev.onednn4j.internal.op.PadMode;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bounded cache of a layer's plans, on real plans (oneDNN ReLU primitives): at most its capacity in plans and
 * in bytes, least recently used out first, hits return the plan itself, an evicted plan lives until the last call
 * using it releases it, and a closed cache takes nothing more. Then the same through layers.
 */
class PlanCacheTest {

    /** A ReLU plan for {@code x} into {@code out}, holding one reference (the one a cache takes over). */
    static Plan relu(TensorImpl x, TensorImpl out) {
        return new Eltwise(Eltwise.Kind.RELU, 0, x.shape()).plan(x, out);
    }

    static float[] values(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i % 3 == 0 ? -i : i;
        }
        return a;
    }

    static float[] relu(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.max(a[i], 0f);
        }
        return r;
    }

    /** Puts a plan for {@code x} and drops the reference {@code put} returns, as a call does when it ends. */
    static Plan putIdle(PlanCache cache, TensorImpl x, TensorImpl out) {
        Plan p = cache.put(x, PlanCache.layouts(x, out), relu(x, out));
        p.release();
        return p;
    }

    @Test
    void keepsAtMostItsCapacityAndEvictsTheLeastRecentlyUsedFirst() {
        try (PlanCache cache = new PlanCache(2, Long.MAX_VALUE);
                TensorImpl a = TensorImpl.zeros(2, 3);
                TensorImpl oa = TensorImpl.zeros(2, 3);
                TensorImpl b = TensorImpl.zeros(3, 3);
                TensorImpl ob = TensorImpl.zeros(3, 3);
                TensorImpl c = TensorImpl.zeros(4, 3);
                TensorImpl oc = TensorImpl.zeros(4, 3)) {
            int l = PlanCache.layouts(a, oa);
            Plan pa = putIdle(cache, a, oa);
            Plan pb = putIdle(cache, b, ob);
            assertEquals(2, cache.size());
            Plan hit = cache.get(a, l); // a is now the most recently used, b the least
            assertSame(pa, hit, "a hit returns the cached plan itself");
            hit.release();
            Plan pc = putIdle(cache, c, oc);
            assertEquals(2, cache.size(), "at most its capacity");
            assertNull(cache.get(b, l), "the least recently used plan went first");
            assertFalse(pb.retain(), "an evicted plan that no call holds is destroyed at once");
            for (TensorImpl[] kept : new TensorImpl[][] {{a, oa}, {c, oc}}) {
                Plan p = cache.get(kept[0], l);
                assertSame(kept[0] == a ? pa : pc, p);
                p.release();
            }
            Plan pd = putIdle(cache, b, ob); // c was used last: a goes now
            assertNull(cache.get(a, l));
            assertFalse(pa.retain());
            Plan p = cache.get(c, l);
            assertSame(pc, p);
            p.release();
            assertNotNull(pd);
        }
    }

    @Test
    void theKeyIsTheShapeAndTheLayouts() {
        try (PlanCache cache = new PlanCache(4, Long.MAX_VALUE);
                TensorImpl x = TensorImpl.zeros(1, 3, 4, 4);
                TensorImpl out = TensorImpl.zeros(1, 3, 4, 4);
                TensorImpl outCl = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 3, 4, 4);
                TensorImpl sameShape = TensorImpl.zeros(1, 3, 4, 4);
                TensorImpl other = TensorImpl.zeros(1, 3, 4, 5)) {
            Plan p = putIdle(cache, x, out);
            Plan hit = cache.get(sameShape, PlanCache.layouts(x, out));
            assertSame(p, hit, "any tensor of the same shape and layouts hits");
            hit.release();
            assertNull(cache.get(x, PlanCache.layouts(x, outCl)), "another layout misses");
            assertNull(cache.get(other, PlanCache.layouts(other, out)), "another shape misses");
            Plan q = putIdle(cache, x, outCl);
            assertEquals(2, cache.size());
            Plan qHit = cache.get(x, PlanCache.layouts(x, outCl));
            assertSame(q, qHit);
            qHit.release();
        }
    }

    @Test
    void aSecondPlanForTheSameKeyIsDestroyedAndTheFirstReturned() {
        try (PlanCache cache = new PlanCache(4, Long.MAX_VALUE);
                TensorImpl x = TensorImpl.zeros(5);
                TensorImpl out = TensorImpl.zeros(5)) {
            int l = PlanCache.layouts(x, out);
            Plan first = putIdle(cache, x, out);
            Plan second = relu(x, out);
            Plan got = cache.put(x, l, second); // as when another thread built one meanwhile
            assertSame(first, got);
            got.release();
            assertFalse(second.retain(), "the duplicate is destroyed");
            assertEquals(1, cache.size());
        }
    }

    @Test
    void aPlanEvictedWhileACallHoldsItStaysUsableUntilReleased() {
        float[] v = values(12);
        try (PlanCache cache = new PlanCache(1, Long.MAX_VALUE);
                TensorImpl a = TensorImpl.of(v, 3, 4);
                TensorImpl oa = TensorImpl.zeros(3, 4);
                TensorImpl b = TensorImpl.zeros(4, 4);
                TensorImpl ob = TensorImpl.zeros(4, 4)) {
            int l = PlanCache.layouts(a, oa);
            Plan held = cache.put(a, l, relu(a, oa)); // retained for a call that is still running
            putIdle(cache, b, ob); // evicts it
            assertEquals(1, cache.size());
            assertNull(cache.get(a, l), "no longer cached");
            held.run(a, oa);
            assertArrayEquals(relu(v), oa.toFloatArray(), "still runs after eviction");
            held.run(a, oa);
            held.release(); // the call ends: the last reference
            assertFalse(held.retain(), "destroyed once released");
            Plan rebuilt = cache.put(a, l, relu(a, oa));
            try (TensorImpl o2 = TensorImpl.zeros(3, 4)) {
                rebuilt.run(a, o2);
                assertArrayEquals(relu(v), o2.toFloatArray());
            } finally {
                rebuilt.release();
            }
        }
    }

    /** A 3x3 convolution plan (padding 1, no bias) of {@code weight} for {@code x} into {@code out}. */
    static Plan conv(TensorImpl weight, TensorImpl x, TensorImpl out) {
        long[] s = x.shape();
        int h = (int) s[2];
        int w = (int) s[3];
        ConvGeometry g = new ConvGeometry(
                (int) s[0],
                (int) s[1],
                h,
                w,
                (int) weight.size(0),
                3,
                3,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                PadMode.ZEROS,
                false,
                h,
                w);
        return new Convolution(g, weight, null, false).plan(x, out);
    }

    static Plan putIdleConv(PlanCache cache, TensorImpl weight, TensorImpl x, TensorImpl out) {
        Plan p = cache.put(x, PlanCache.layouts(x, out), conv(weight, x, out));
        p.release();
        return p;
    }

    @Test
    void theByteLimitEvictsToo() {
        // three layers' weights, each reordered into oneDNN's blocked layout: each plan holds a copy of its own
        try (TensorImpl wa = TensorImpl.zeros(16, 16, 3, 3);
                TensorImpl wb = TensorImpl.zeros(16, 16, 3, 3);
                TensorImpl wc = TensorImpl.zeros(16, 16, 3, 3);
                TensorImpl a = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 4, 4);
                TensorImpl b = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 5, 4);
                TensorImpl c = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 6, 4);
                TensorImpl oa = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 4, 4);
                TensorImpl ob = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 5, 4);
                TensorImpl oc = TensorImpl.zeros(Format.CHANNELS_LAST, 1, 16, 6, 4)) {
            long size;
            try (PlanCache probe = new PlanCache(1, Long.MAX_VALUE)) {
                size = putIdleConv(probe, wa, a, oa).bytes();
            }
            assertTrue(size >= 16 * 16 * 9 * 4, "the plan holds the reordered weights: " + size);
            try (PlanCache cache = new PlanCache(100, size * 2 + size / 2)) {
                Plan pa = putIdleConv(cache, wa, a, oa);
                assertEquals(size, cache.bytes());
                Plan pb = putIdleConv(cache, wb, b, ob);
                assertEquals(2, cache.size());
                assertEquals(2 * size, cache.bytes());
                putIdleConv(cache, wc, c, oc); // 3 * size > 2.5 * size: the oldest goes
                assertEquals(2, cache.size(), "evicted by bytes, far below the count limit");
                assertEquals(2 * size, cache.bytes());
                assertNull(cache.get(a, PlanCache.layouts(a, oa)));
                assertFalse(pa.retain());
                Plan hit = cache.get(b, PlanCache.layouts(b, ob));
                assertSame(pb, hit);
                hit.release();
            }
            try (PlanCache tiny = new PlanCache(100, 1)) {
                Plan only = putIdleConv(tiny, wa, a, oa);
                assertEquals(1, tiny.size(), "a plan over the byte limit on its own is kept: the call needs it");
                putIdleConv(tiny, wb, b, ob);
                assertEquals(1, tiny.size());
                assertFalse(only.retain(), "replaced by the newer one");
            }
        }
    }

    /**
     * A layer's plans for many input shapes share one reordered copy of its weights (they kept one each, 147 KB
     * apiece for 64 channels), which the cache counts once and frees with the last plan using it; and they refresh it
     * once when the weights change.
     */
    @Test
    void plansOfOneLayerShareOneReorderedCopyOfItsWeights() {
        float[] v = values(8 * 8 * 9);
        int before = SharedConstants.count();
        try (TensorImpl weight = TensorImpl.of(v, 8, 8, 3, 3);
                PlanCache cache = new PlanCache(8, Long.MAX_VALUE)) {
            List<TensorImpl[]> calls = new ArrayList<>();
            long one = 0;
            for (int h = 3; h < 8; h++) {
                TensorImpl x = TensorImpl.of(values(8 * h * 5), Format.CONTIGUOUS, 1, 8, h, 5);
                TensorImpl out = TensorImpl.zeros(1, 8, h, 5);
                calls.add(new TensorImpl[] {x, out});
                one = putIdleConv(cache, weight, x, out).bytes();
            }
            assertEquals(5, cache.size());
            assertEquals(before + 1, SharedConstants.count(), "one reordered copy for five plans");
            assertEquals(one, cache.bytes(), "counted once");
            float[][] first = new float[calls.size()][];
            for (int k = 0; k < calls.size(); k++) {
                TensorImpl[] c = calls.get(k);
                Plan p = cache.get(c[0], PlanCache.layouts(c[0], c[1]));
                p.run(c[0], c[1]);
                p.release();
                first[k] = c[1].toFloatArray();
            }
            weight.copyFrom(new float[v.length]); // zeros: every plan must see it
            for (TensorImpl[] c : calls) {
                Plan p = cache.get(c[0], PlanCache.layouts(c[0], c[1]));
                p.run(c[0], c[1]);
                p.release();
                assertArrayEquals(new float[(int) c[1].numel()], c[1].toFloatArray(), "the new weights");
            }
            assertTrue(first[0].length > 0 && first[0][5] != 0, "the first weights gave something else");
            cache.clear();
            assertEquals(before, SharedConstants.count(), "freed with the last plan");
            for (TensorImpl[] c : calls) {
                c[0].close();
                c[1].close();
            }
        }
    }

    /**
     * What a call writes and nobody keeps (an NCHW input and output reordered through buffers in oneDNN's layout, a
     * scratchpad) lies in a workspace borrowed for the call: the plan holds none of it, and a thread calling again
     * gets the same workspace back.
     */
    @Test
    void aCallsTemporariesLieInABorrowedWorkspace() {
        try (TensorImpl weight = TensorImpl.zeros(16, 16, 3, 3);
                TensorImpl x = TensorImpl.zeros(1, 16, 20, 20);
                TensorImpl out = TensorImpl.zeros(1, 16, 20, 20);
                PlanCache cache = new PlanCache(4, Long.MAX_VALUE)) {
            Plan p = cache.put(x, PlanCache.layouts(x, out), conv(weight, x, out));
            try {
                assertTrue(p.reorders(0) && p.reorders(1), "NCHW is reordered in and out: " + p);
                assertTrue(p.workspaceBytes() >= 2 * 16 * 20 * 20 * 4, "two reorder buffers: " + p.workspaceBytes());
                assertEquals(16 * 16 * 9 * 4, p.bytes(), "the plan holds its reordered weights only");
                p.run(x, out);
                long pooled = Workspace.pooledBytes();
                for (int i = 0; i < 10; i++) {
                    p.run(x, out);
                }
                assertEquals(pooled, Workspace.pooledBytes(), "the same workspace, back and forth");
            } finally {
                p.release();
            }
        }
    }

    @Test
    void closeReleasesEverythingAndRefusesLaterPlans() {
        float[] v = values(6);
        PlanCache cache = new PlanCache(4, Long.MAX_VALUE);
        try (TensorImpl a = TensorImpl.of(v, 6);
                TensorImpl oa = TensorImpl.zeros(6);
                TensorImpl b = TensorImpl.zeros(7);
                TensorImpl ob = TensorImpl.zeros(7);
                TensorImpl c = TensorImpl.zeros(8);
                TensorImpl oc = TensorImpl.zeros(8)) {
            int l = PlanCache.layouts(a, oa);
            Plan held = cache.put(a, l, relu(a, oa)); // a call still running
            Plan idle = putIdle(cache, b, ob);
            cache.close();
            assertEquals(0, cache.size());
            assertEquals(0, cache.bytes());
            assertFalse(idle.retain(), "an idle plan is destroyed at close");
            assertNull(cache.get(a, l));
            held.run(a, oa);
            assertArrayEquals(relu(v), oa.toFloatArray(), "the running call finishes");
            held.release();
            assertFalse(held.retain(), "and then the plan is destroyed");
            Plan late = relu(c, oc);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.put(c, l, late));
            assertEquals("the layer was closed while its plan was being built", e.getMessage());
            assertFalse(late.retain(), "a plan offered to a closed cache is destroyed");
            assertEquals(0, cache.size());
            cache.close(); // twice: nothing
        }
    }

    @Test
    void badLimitsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PlanCache(0, 1));
        assertEquals(
                "a plan cache keeps at least one plan and a non-negative number of bytes, got 0 plans, 1 bytes",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PlanCache(1, -1));
        assertEquals(
                "a plan cache keeps at least one plan and a non-negative number of bytes, got 1 plans, -1 bytes",
                e.getMessage());
    }

    // ---- through layers ---------------------------------------------------------------------------------

    @Test
    void aLayerNeverKeepsMoreThanTheDefaultNumberOfPlans() {
        int shapes = PlanCache.DEFAULT_MAX_PLANS + 8;
        try (ReLU relu = new ReLU()) {
            for (int k = 1; k <= shapes; k++) {
                float[] v = values(k * 3);
                try (Tensor x = Tensor.of(v, k, 3);
                        Tensor y = relu.forward(x)) {
                    assertArrayEquals(relu(v), y.toFloatArray(), "shape " + k + "x3");
                }
                assertEquals(Math.min(k, PlanCache.DEFAULT_MAX_PLANS), relu.planCount(), "after " + k + " shapes");
            }
            try (Tensor x = Tensor.of(values(3), 1, 3);
                    Tensor y = relu.forward(x)) {
                assertEquals(PlanCache.DEFAULT_MAX_PLANS, relu.planCount(), "the first shape was evicted, rebuilt");
                assertArrayEquals(relu(values(3)), y.toFloatArray());
            }
            relu.to(Backend.REFERENCE);
            assertEquals(0, relu.planCount(), "the reference backend drops the plans");
        }
        Conv2d conv = Conv2d.builder(2, 2, 3).padding(1).seed(5).build();
        try {
            for (int k = 1; k <= shapes; k++) {
                MemoryFormat f = k % 2 == 0 ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
                try (Tensor x = Tensor.zeros(f, 1, 2, k, 3);
                        Tensor y = conv.forward(x)) {
                    assertArrayEquals(new long[] {1, 2, k, 3}, y.shape());
                }
                assertTrue(
                        conv.planCount() <= PlanCache.DEFAULT_MAX_PLANS, "after " + k + " shapes: " + conv.planCount());
            }
            assertEquals(PlanCache.DEFAULT_MAX_PLANS, conv.planCount());
        } finally {
            conv.close();
        }
        assertEquals(0, conv.planCount(), "closing the layer frees its plans");
    }
}
