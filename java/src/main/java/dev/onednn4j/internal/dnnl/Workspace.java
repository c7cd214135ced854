package dev.onednn4j.internal.dnnl;

import dev.onednn4j.internal.io.NativeMemory;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for what one execution writes and nobody keeps: its scratchpad, the buffers its reorders go
 * through, a padded input. Borrowed per call from a process-wide pool and given back after, so every plan of every
 * layer shares it: memory grows with the calls running at once (and the largest any of them needs), not with the
 * plans cached. A call prefers the workspace it had last, so that its memory objects stay bound (no native call).
 *
 * <p>The pool keeps at most {@link #MAX_IDLE} idle workspaces and {@link #MAX_IDLE_BYTES} bytes; beyond, the
 * smallest go back to C's allocator. Sizes are powers of two (64 KiB at least), so a few workspaces serve every
 * size; pages a workspace never touches cost no memory.
 */
public final class Workspace {

    /** Idle workspaces kept: two per core, at least 4. */
    static final int MAX_IDLE = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    /** Idle bytes kept unless {@code -Donednn4j.workspace.maxIdleBytes} says otherwise: 256 MiB. */
    static final long MAX_IDLE_BYTES = Long.getLong("onednn4j.workspace.maxIdleBytes", 256L << 20);
    /** Alignment of a workspace and of every buffer in it: a page. */
    public static final long ALIGNMENT = 4096;

    private static final long MIN_SIZE = 64 << 10;
    private static final Workspace[] IDLE = new Workspace[MAX_IDLE]; // guarded by IDLE
    private static int idleCount; // guarded by IDLE
    private static long idleBytes; // guarded by IDLE

    private final NativeMemory.Block block;
    private final long size;
    private boolean idle; // guarded by IDLE; a freed workspace never is

    private Workspace(long size) {
        this.block = NativeMemory.allocateScratch(size, ALIGNMENT);
        this.size = size;
    }

    /**
     * A workspace of at least {@code bytes} bytes for one call, exclusively the caller's until {@link #release}:
     * {@code preferred} if it is idle and large enough, else the smallest idle one that is, else a new one.
     */
    public static Workspace acquire(long bytes, Workspace preferred) {
        synchronized (IDLE) {
            if (preferred != null && preferred.idle && preferred.size >= bytes) {
                take(indexOf(preferred));
                return preferred;
            }
            int best = -1;
            for (int i = 0; i < idleCount; i++) {
                if (IDLE[i].size >= bytes && (best < 0 || IDLE[i].size < IDLE[best].size)) {
                    best = i;
                }
            }
            if (best >= 0) {
                return take(best);
            }
        }
        return new Workspace(Math.max(MIN_SIZE, Long.highestOneBit(Math.max(bytes, 1) - 1) << 1));
    }

    /** Gives a workspace back after its call: kept idle for the next one, or freed beyond the pool's limits. */
    public static void release(Workspace w) {
        Workspace freeNow = null;
        synchronized (IDLE) {
            while (idleCount > 0 && (idleCount == MAX_IDLE || idleBytes + w.size > MAX_IDLE_BYTES)) {
                int smallest = 0;
                for (int i = 1; i < idleCount; i++) {
                    if (IDLE[i].size < IDLE[smallest].size) {
                        smallest = i;
                    }
                }
                if (IDLE[smallest].size > w.size) {
                    break; // the idle ones are all larger: this one goes
                }
                take(smallest).block.free();
            }
            if (idleCount < MAX_IDLE && idleBytes + w.size <= MAX_IDLE_BYTES) {
                IDLE[idleCount++] = w;
                idleBytes += w.size;
                w.idle = true;
            } else {
                freeNow = w;
            }
        }
        if (freeNow != null) {
            freeNow.block.free();
        }
    }

    private static int indexOf(Workspace w) {
        for (int i = 0; i < idleCount; i++) {
            if (IDLE[i] == w) {
                return i;
            }
        }
        throw new IllegalStateException("an idle workspace is not in the pool");
    }

    private static Workspace take(int i) {
        Workspace w = IDLE[i];
        IDLE[i] = IDLE[--idleCount];
        IDLE[idleCount] = null;
        idleBytes -= w.size;
        w.idle = false;
        return w;
    }

    /** Bytes kept by idle workspaces now. */
    public static long idleBytes() {
        synchronized (IDLE) {
            return idleBytes;
        }
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
