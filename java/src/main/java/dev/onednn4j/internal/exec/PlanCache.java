package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;

/**
 * The plans of one layer (or one tensor operation), keyed by the input's shape and the layouts of the call's
 * tensors, least recently used first out. Bounded by a number of plans and a number of native bytes (see
 * {@link #DEFAULT_MAX_PLANS}); an evicted plan that running calls still use is destroyed when they end.
 *
 * <p>The bytes are those of the reordered constants the plans hold, each copy counted once however many plans
 * share it (a layer's plans share its reordered weights). A plan's other memory is its primitives' generated code,
 * oneDNN's own and not measurable here (a few hundred KB for a convolution), which the count bounds; temporaries are
 * borrowed per call from the shared workspace pool, not held.
 *
 * <p>A lookup that hits the most recent plan allocates nothing and takes no lock; other hits scan the (short)
 * list under a lock, still without allocating.
 */
public final class PlanCache implements AutoCloseable {

    /** Plans kept per cache unless {@code -Donednn4j.planCache.maxPlans} says otherwise. */
    public static final int DEFAULT_MAX_PLANS = Integer.getInteger("onednn4j.planCache.maxPlans", 32);
    /** Native bytes of plans kept per cache unless {@code -Donednn4j.planCache.maxBytes} says otherwise: 256 MiB. */
    public static final long DEFAULT_MAX_BYTES = Long.getLong("onednn4j.planCache.maxBytes", 256L << 20);

    /**
     * A cached plan and its key: the input's shape (a private copy), the layouts code, and the OpenMP thread
     * setting it was built under (oneDNN fixes the thread count into a primitive when it creates it).
     */
    private static final class Entry {
        final long[] shape;
        final int layouts;
        final int threads;
        final Plan plan;

        Entry(long[] shape, int layouts, int threads, Plan plan) {
            this.shape = shape;
            this.layouts = layouts;
            this.threads = threads;
            this.plan = plan;
        }

        Plan plan() {
            return plan;
        }

        boolean matches(long[] s, int l, int t) {
            return layouts == l && threads == t && Arrays.equals(shape, s);
        }
    }

    private final int maxPlans;
    private final long maxBytes;
    private final List<Entry> lru = new ArrayList<>(); // oldest first
    private volatile Entry recent;
    private long bytes;
    /** How many cached plans use each reordered constant: its bytes count once. Guarded by this. */
    private final IdentityHashMap<SharedConstants.Reordered, Integer> constantUsers = new IdentityHashMap<>();

    private boolean closed;

    public PlanCache() {
        this(DEFAULT_MAX_PLANS, DEFAULT_MAX_BYTES);
    }

    public PlanCache(int maxPlans, long maxBytes) {
        if (maxPlans < 1 || maxBytes < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "a plan cache keeps at least one plan and a non-negative number of bytes, got %d plans, %d bytes",
                    maxPlans,
                    maxBytes));
        }
        this.maxPlans = maxPlans;
        this.maxBytes = maxBytes;
    }

    /**
     * A code for the layouts (memory format and dtype) of up to eight tensors of a call, the second half of a
     * plan's key.
     */
    public static int layouts(TensorImpl a, TensorImpl b) {
        return code(a) | code(b) << 8;
    }

    /** {@link #layouts(TensorImpl, TensorImpl)} for three tensors. */
    public static int layouts(TensorImpl a, TensorImpl b, TensorImpl c) {
        return layouts(a, b) | code(c) << 16;
    }

    /** One byte per tensor: its memory format in bit 0, its dtype above. */
    private static int code(TensorImpl t) {
        int format = t.format() == Format.CHANNELS_LAST ? 1 : 0;
        int dtype = switch (t.dtype()) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case FLOAT16 -> 2;
            case BFLOAT16 -> 3;
            case INT64 -> 4;
            case INT32 -> 5;
            case INT16 -> 6;
            case INT8 -> 7;
            case UINT8 -> 8;
            case BOOL -> 9;
        };
        return format | dtype << 1;
    }

    /** The plan for {@code input}'s shape and {@code layouts}, retained for one call (release it), or null. */
    public Plan get(TensorImpl input, int layouts) {
        long[] shape = input.shapeRef();
        int threads = Threads.applyToCallingThread(threadOverride); // before the plan is built or run here
        Entry r = recent;
        if (r != null && r.matches(shape, layouts, threads) && r.plan().retain()) {
            return r.plan();
        }
        synchronized (this) {
            for (int i = lru.size() - 1; i >= 0; i--) {
                Entry e = lru.get(i);
                if (e.matches(shape, layouts, threads)) {
                    if (i != lru.size() - 1) {
                        lru.remove(i);
                        lru.add(e);
                    }
                    recent = e;
                    e.plan().retain();
                    return e.plan();
                }
            }
        }
        return null;
    }

    /**
     * Adds {@code plan} (built for {@code input}'s shape and {@code layouts}) and returns it retained for one call;
     * if another thread added one for the same key meanwhile, {@code plan} is destroyed and that one returned.
     * Evicts the least recently used plans beyond the limits.
     *
     * @throws IllegalStateException if the cache is closed (its layer was closed meanwhile)
     */
    public Plan put(TensorImpl input, int layouts, Plan plan) {
        long[] shape = input.shapeRef();
        int override = threadOverride;
        int threads = override != 0 ? override : Threads.setting();
        List<Plan> evicted = new ArrayList<>();
        Plan result;
        synchronized (this) {
            if (closed) {
                plan.release();
                throw new IllegalStateException("the layer was closed while its plan was being built");
            }
            Entry existing = null;
            for (Entry e : lru) {
                if (e.matches(shape, layouts, threads)) {
                    existing = e;
                }
            }
            if (existing != null) {
                evicted.add(plan);
                result = existing.plan();
            } else {
                Entry e = new Entry(shape.clone(), layouts, threads, plan);
                lru.add(e);
                count(plan, +1);
                recent = e;
                result = plan;
                while (lru.size() > maxPlans || (bytes > maxBytes && lru.size() > 1)) {
                    Entry old = lru.removeFirst();
                    count(old.plan(), -1);
                    evicted.add(old.plan());
                }
            }
            result.retain();
        }
        for (Plan p : evicted) {
            p.release();
        }
        return result;
    }

    /** Adds ({@code +1}) or removes ({@code -1}) a plan's constants: a copy's bytes count while any plan uses it. */
    private void count(Plan plan, int delta) {
        for (SharedConstants.Reordered r : plan.constants()) {
            if (r != null) {
                int users = constantUsers.getOrDefault(r, 0) + delta;
                if (users == 0) {
                    constantUsers.remove(r);
                    bytes -= r.bytes;
                } else {
                    if (users == 1 && delta > 0) {
                        bytes += r.bytes;
                    }
                    constantUsers.put(r, users);
                }
            }
        }
    }

    /** The OpenMP thread count of this cache's plans, or 0 for the process-wide setting. */
    private volatile int threadOverride;

    /**
     * Sets the OpenMP thread count this cache's plans are built and run with (applied to the calling thread by
     * {@link #get}), or 0 for the process-wide setting; plans of other counts stay until evicted.
     */
    public void threads(int threads) {
        threadOverride = threads;
    }

    /** Number of plans kept. */
    public synchronized int size() {
        return lru.size();
    }

    /** Native bytes of the plans kept. */
    public synchronized long bytes() {
        return bytes;
    }

    /** Drops every plan (each is destroyed once no call uses it). */
    public void clear() {
        List<Entry> old;
        synchronized (this) {
            old = new ArrayList<>(lru);
            lru.clear();
            constantUsers.clear();
            bytes = 0;
            recent = null;
        }
        RuntimeException failure = null;
        for (Entry e : old) {
            try {
                e.plan().release();
            } catch (RuntimeException x) {
                if (failure == null) {
                    failure = x;
                } else {
                    failure.addSuppressed(x);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Drops every plan; later {@link #put}s fail. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        clear();
    }
}
