package dev.onednn4j.internal.dnnl;

import dev.onednn4j.internal.memory.NativeMemory;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Native memory for what one execution writes and nobody keeps: its scratchpad, the buffers its reorders go
 * through, a padded input. Borrowed per call from a process-wide pool and given back after, so every plan of every
 * layer shares it: memory grows with the calls running at once (and the largest any of them needs), not with the
 * plans cached.
 *
 * <p>A call asks first for the workspace it had last: taking it back is one compare-and-set, no lock, and its
 * memory objects stay bound (no native call). Otherwise the smallest idle workspace that is large enough, else a
 * new one, whose size is a power of two (64 KiB at least), so that a few serve every size; pages a workspace never
 * touches cost no memory. The pool holds at most {@link #MAX_POOLED} workspaces and {@link #MAX_POOLED_BYTES}
 * bytes, busy ones included; beyond, idle ones (the smallest first) go back to C's allocator as calls end.
 */
public final class Workspace {

    /** Workspaces pooled at most: two per core, at least 4. */
    static final int MAX_POOLED = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    /** Bytes pooled at most unless {@code -Donednn4j.workspace.maxBytes} says otherwise: 256 MiB. */
    static final long MAX_POOLED_BYTES = Long.getLong("onednn4j.workspace.maxBytes", 256L << 20);
    /** Alignment of a workspace and of every buffer in it: a page. */
    public static final long ALIGNMENT = 4096;

    private static final long MIN_SIZE = 64 << 10;
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int FREED = 2;

    private static final List<Workspace> POOL = new ArrayList<>(); // guarded by itself
    private static volatile int pooled; // POOL.size()
    private static volatile long pooledBytes;

    private final NativeMemory.Block block;
    private final long size;
    private final AtomicInteger state = new AtomicInteger(BUSY);

    private Workspace(long size) {
        this.block = NativeMemory.allocateScratch(size, ALIGNMENT);
        this.size = size;
    }

    /**
     * A workspace of at least {@code bytes} bytes for one call, exclusively the caller's until {@link #release}:
     * {@code preferred} if it is idle and large enough, else the smallest idle one that is, else a new one.
     */
    public static Workspace acquire(long bytes, Workspace preferred) {
        if (preferred != null && preferred.size >= bytes && preferred.state.compareAndSet(IDLE, BUSY)) {
            return preferred;
        }
        synchronized (POOL) {
            Workspace best = null;
            for (; ; ) {
                for (Workspace w : POOL) {
                    if (w.size >= bytes && w.state.get() == IDLE && (best == null || w.size < best.size)) {
                        best = w;
                    }
                }
                if (best == null) {
                    break;
                }
                if (best.state.compareAndSet(IDLE, BUSY)) {
                    return best;
                }
                best = null; // taken meanwhile by its last user: look again
            }
            Workspace w = new Workspace(Math.max(MIN_SIZE, Long.highestOneBit(Math.max(bytes, 1) - 1) << 1));
            POOL.add(w);
            pooled = POOL.size();
            pooledBytes += w.size;
            return w;
        }
    }

    /** Gives a workspace back after its call; beyond the pool's limits, idle workspaces are freed. */
    public static void release(Workspace w) {
        if (pooled <= MAX_POOLED && pooledBytes <= MAX_POOLED_BYTES) {
            w.state.set(IDLE);
            return;
        }
        synchronized (POOL) {
            w.state.set(IDLE);
            while (pooled > MAX_POOLED || pooledBytes > MAX_POOLED_BYTES) {
                Workspace smallest = null;
                for (Workspace x : POOL) {
                    if (x.state.get() == IDLE && (smallest == null || x.size < smallest.size)) {
                        smallest = x;
                    }
                }
                if (smallest == null) {
                    break; // all busy: the next call to end trims
                }
                if (smallest.state.compareAndSet(IDLE, FREED)) {
                    POOL.remove(smallest);
                    pooled = POOL.size();
                    pooledBytes -= smallest.size;
                    smallest.block.free();
                }
            }
        }
    }

    /** Bytes pooled now, busy and idle. */
    public static long pooledBytes() {
        return pooledBytes;
    }

    /** The workspace's size in bytes. */
    public long size() {
        return size;
    }

    /** The workspace's memory, for the holder of the workspace (a call) only. */
    MemorySegment memory() {
        return block.segment();
    }
}
