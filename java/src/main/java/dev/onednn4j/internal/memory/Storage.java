package dev.onednn4j.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * Memory shared by a tensor, its views, its aliases and the tensors that wrap part of it, as PyTorch's
 * {@code StorageImpl}: who frees it, the close guard (pins are read locks, freeing takes the write lock), the version
 * counter, and how many open tensors hold it. Owned memory is freed when the last of them is closed, or by a
 * {@link Cleaner} once none is reachable. Memory whose address has been handed out is listed in a registry by
 * address, so that wrapping part of it finds this storage instead of making a second one.
 */
public final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    /** The memory of every live storage whose address has been handed out, by address. */
    private static final ConcurrentSkipListMap<Long, Registered> REGISTRY = new ConcurrentSkipListMap<>();

    /** A registry entry: weak, so that the registry never keeps a tensor's memory from being collected. */
    private record Registered(long address, long size, WeakReference<Storage> storage) {}

    /** The whole memory, as the library reaches it (for owned memory: global scope, never handed out). */
    final MemorySegment memory;
    /** Frees the memory; null when it is the caller's. */
    final Release release;

    private final Cleaner.Cleanable cleanable;
    /** The file the memory maps, for messages; null when it maps no file. */
    final String file;

    final StampedLock guard = new StampedLock();
    private final AtomicLong version = new AtomicLong();
    private final AtomicInteger holders = new AtomicInteger();
    private volatile boolean freed;

    private Storage(MemorySegment memory, Release release, String file) {
        this.memory = memory;
        this.release = release;
        this.file = file;
        this.cleanable = release == null ? null : CLEANER.register(this, release);
    }

    /** Memory the library allocated: freed by {@link #free()}, or by the cleaner once nothing refers to it. */
    static Storage owned(NativeMemory.Block block) {
        return new Storage(block.segment(), new Release(block, null), null);
    }

    /** A file mapped into {@code arena}, which the storage closes (unmapping it). */
    static Storage mapped(Arena arena, MemorySegment memory, String file) {
        Storage s = new Storage(memory, new Release(null, arena), file);
        if (memory.byteSize() > 0) {
            s.release.register(s);
        }
        return s;
    }

    /** The caller's memory: never freed here. A segment of a mapped file counts as file-backed. */
    static Storage caller(MemorySegment memory) {
        return new Storage(memory, null, memory.isMapped() ? "a memory-mapped file" : null);
    }

    /** Whether the memory has been freed. */
    boolean freed() {
        return freed;
    }

    /** The write counter, as PyTorch's {@code _version}. */
    long version() {
        return version.get();
    }

    /** Records a write. */
    void markModified() {
        version.incrementAndGet();
    }

    /** Whether the library allocated this memory (so segments handed out are scoped to its life). */
    boolean allocated() {
        return release != null && release.block != null;
    }

    /** One more open tensor over this memory; false if it is already freed. */
    boolean hold() {
        for (; ; ) {
            int h = holders.get();
            if (h == 0 && freed) {
                return false;
            }
            if (holders.compareAndSet(h, h + 1)) {
                return true;
            }
        }
    }

    /** One open tensor fewer; the last one frees the memory. */
    void release() {
        if (holders.decrementAndGet() == 0) {
            free();
        }
    }

    /** Frees owned memory once no operation holds a pin; later pins fail. */
    private void free() {
        long stamp = guard.writeLock();
        try {
            if (!freed) {
                freed = true;
                if (cleanable != null) {
                    cleanable.clean();
                }
            }
        } finally {
            guard.unlockWrite(stamp);
        }
    }

    /**
     * {@code slice} (part of {@link #memory}) as the user may keep it: for memory the library allocated, a segment of
     * this storage's own shared arena, which is closed when the memory is freed, so that a segment kept past that
     * throws instead of reaching freed memory. The caller holds a pin.
     */
    MemorySegment exposed(MemorySegment slice) {
        if (!allocated()) {
            return slice; // the caller's memory as given, or a mapping whose arena closes when it is unmapped
        }
        MemorySegment s = slice.reinterpret(release.exposure(this), null);
        return slice.isReadOnly() ? s.asReadOnly() : s;
    }

    /**
     * The live storage whose memory holds {@code [address, address + bytes)}, or null if no registered storage holds
     * {@code address}.
     *
     * @throws IllegalArgumentException if the range starts inside a storage's memory and runs past its end
     * @throws IllegalStateException if that storage's memory has been freed
     */
    static Storage registeredOwner(long address, long bytes) {
        Map.Entry<Long, Registered> e = REGISTRY.floorEntry(address);
        if (e == null) {
            return null;
        }
        Registered r = e.getValue();
        long offset = address - r.address();
        if (offset >= r.size()) {
            return null;
        }
        if (bytes > r.size() - offset) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "segment of %d bytes starts %d bytes into the %d-byte memory of a tensor and runs past its end",
                    bytes,
                    offset,
                    r.size()));
        }
        Storage s = r.storage().get();
        if (s == null || s.freed) {
            throw new IllegalStateException("the segment lies in the memory of a tensor that has been closed");
        }
        return s;
    }

    /**
     * What frees a storage's memory, run once: by {@link Storage#free()} or by the cleaner. It refers to the
     * memory, never to the storage, so that an unreachable storage can be collected.
     */
    static final class Release implements Runnable {
        final NativeMemory.Block block; // memory the library allocated, or null
        private final Arena mapping; // a mapped file's arena, or null
        private Arena exposure; // created when the memory is first handed out
        private Registered registered;
        private boolean done;

        Release(NativeMemory.Block block, Arena mapping) {
            this.block = block;
            this.mapping = mapping;
        }

        /** The arena that scopes segments handed out, created (and the memory registered) on first use. */
        synchronized Arena exposure(Storage s) {
            if (done) {
                throw new IllegalStateException("the memory has been freed");
            }
            if (exposure == null) {
                @SuppressWarnings("MustBeClosedChecker") // closed by run(), when the memory is freed
                Arena a = Arena.ofShared();
                exposure = a;
                register(s);
            }
            return exposure;
        }

        /** Lists the storage's memory in the registry, so that wrapping part of it finds the storage. */
        synchronized void register(Storage s) {
            if (registered == null && !done) {
                registered = new Registered(s.memory.address(), s.memory.byteSize(), new WeakReference<>(s));
                REGISTRY.put(registered.address(), registered);
            }
        }

        @Override
        public void run() {
            Arena e;
            Registered r;
            synchronized (this) {
                done = true;
                e = exposure;
                r = registered;
            }
            if (r != null) {
                REGISTRY.remove(r.address(), r);
            }
            if (e != null) {
                e.close(); // segments handed out throw from now on (a handshake: only tensors that handed one out)
            }
            if (block != null) {
                block.free();
            }
            if (mapping != null) {
                mapping.close();
            }
        }
    }
}
