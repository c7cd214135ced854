package dev.onednn4j.internal.memory;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The native memory that tensors own: C's {@code calloc} and {@code free} through the linker, 64-byte aligned,
 * zero-filled. Allocating and freeing cost a C call each (no arena, so no thread handshake when freed); the memory
 * is only ever reached through a segment of the global scope that the library keeps to itself while it holds the
 * tensor open, so what the user sees is guarded elsewhere (see {@code Tensor.segment()}).
 *
 * <p><b>Bounded memory for tensors never closed.</b> Native memory does not make the garbage collector run, so
 * tensors dropped without {@code close()} would wait for their {@code Cleaner} until the Java heap happens to fill.
 * As the JDK does for direct buffers ({@code java.nio.Bits.reserveMemory}), every allocation is counted, and when
 * the bytes allocated since the last collection (net of what was freed) exceed a budget, the allocating thread runs
 * {@link System#gc()} and waits briefly (up to {@value #MAX_WAIT_MILLIS} ms) for the cleaners to free what it
 * found. Unlike the JDK, it never refuses the allocation: the budget bounds the memory that waits for a cleaner
 * (live memory plus about one budget), not the memory in use, so a program that legitimately keeps many tensors
 * open is not failed, and collects once per budget's worth of new allocations. A collection that frees less than
 * half of what grew since the last one found memory in use (an eager network's activations at a large batch, closed
 * a moment later): the next one then waits for twice that growth, so a working set W larger than the budget costs
 * about log2(W / budget) + 1 collections at the start, not one per call; a collection that frees garbage halves the
 * threshold again, down to the budget. So what waits for a cleaner stays below about twice the largest working set
 * seen (at least one budget) above the live memory. The budget is
 * {@code -Donednn4j.tensor.gcBudget} (bytes, or with a {@code k}, {@code m} or {@code g} suffix; default
 * {@code 64m}; {@code 0} never collects). {@code -XX:+DisableExplicitGC} makes {@code System.gc()} a no-op and so
 * turns this off too.
 */
public final class NativeMemory {

    /** Alignment of every block: a cache line, what oneDNN's kernels prefer. */
    public static final long ALIGNMENT = 64;
    /** The system property that sets the budget. */
    public static final String BUDGET_PROPERTY = "onednn4j.tensor.gcBudget";
    /** The budget unless the property says otherwise: 64 MiB. */
    public static final long DEFAULT_BUDGET = 64L << 20;
    /** Longest a collection waits for the cleaners. */
    static final long MAX_WAIT_MILLIS = 200;

    private static final long BUDGET = budget(System.getProperty(BUDGET_PROPERTY));

    /** The system property that sets how many bytes of freed large blocks are kept for reuse. */
    public static final String BLOCK_CACHE_PROPERTY = "onednn4j.tensor.blockCache";
    /**
     * Blocks from this size up are kept for reuse when freed. glibc maps every block over 32 MiB afresh and unmaps
     * it on free, so each new one is page-faulted in again (about 80 ms for a 38 MB activation of MobileNetV2 at
     * batch 8 on a 2-core VM), and gives smaller ones back to the system once the top of its heap is free enough,
     * with the same effect: measured on MobileNetV2 at batch 8, eager, 325 ms per call without the cache, 177 ms
     * keeping blocks from 16 MiB, 65 ms from 1 MiB.
     */
    public static final long LARGE_BLOCK = 1L << 20;

    /**
     * For tests: {@code -Donednn4j.debug.poisonEmpty=true} fills every block asked for without zeroing with bytes
     * 0xFF (a NaN in every float32, -1 in every int64), so that reading an element nobody wrote shows. The build's
     * tests run with it.
     */
    public static final String POISON_PROPERTY = "onednn4j.debug.poisonEmpty";

    private static final boolean POISON = Boolean.getBoolean(POISON_PROPERTY);
    /** The most bytes of freed large blocks kept: {@value #BLOCK_CACHE_PROPERTY}, default 256 MiB, 0 keeps none. */
    private static final long BLOCK_CACHE = budget(System.getProperty(BLOCK_CACHE_PROPERTY, "256m"));
    /** Freed large blocks (their raw addresses) by allocation size. */
    private static final ConcurrentHashMap<Long, ConcurrentLinkedDeque<Long>> CACHE = new ConcurrentHashMap<>();
    /** Bytes of the blocks in {@link #CACHE}. */
    private static final AtomicLong CACHED = new AtomicLong();

    private static final MethodHandle CALLOC;
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        if (!ValueLayout.JAVA_LONG.equals(linker.canonicalLayouts().get("size_t"))) {
            throw new ExceptionInInitializerError("onednn4j needs a 64-bit platform (size_t of 8 bytes)");
        }
        CALLOC = linker.downcallHandle(
                linker.defaultLookup().find("calloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        MALLOC = linker.downcallHandle(
                linker.defaultLookup().find("malloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(
                linker.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    /** Bytes allocated and not yet freed, alignment slack included. */
    private static final AtomicLong OUTSTANDING = new AtomicLong();
    /** Bytes ever freed: what a collection freed is the difference across it. */
    private static final AtomicLong RELEASED = new AtomicLong();
    /** What was outstanding after the last collection, lowered as memory is freed: the live memory, roughly. */
    private static final AtomicLong BASELINE = new AtomicLong();
    /**
     * How far above the baseline the next collection comes: the budget, doubled after each collection that freed
     * less than half of what had grown (the growth was live memory, e.g. an eager network's activations at batch 8,
     * which a collection cannot free), back to the budget after one that freed garbage.
     */
    private static volatile long threshold = BUDGET;

    private static final AtomicLong COLLECTIONS = new AtomicLong();
    private static final Object COLLECTING = new Object();

    private NativeMemory() {}

    /** One allocation: freed once, by {@link #free()}. Holds no reference to what uses it. */
    public static final class Block {
        private final long raw;
        private final long accounted;
        private final MemorySegment segment;
        private final AtomicBoolean freed = new AtomicBoolean();

        private Block(long raw, long accounted, MemorySegment segment) {
            this.raw = raw;
            this.accounted = accounted;
            this.segment = segment;
        }

        /**
         * The memory, aligned, of the size asked for. A segment of the global scope: never hand it out, and touch
         * it only while the block cannot be freed.
         */
        public MemorySegment segment() {
            return segment;
        }

        /**
         * Returns the memory to C's allocator, or a large block to the cache of blocks kept for reuse. Idempotent,
         * thread-safe.
         */
        public void free() {
            if (freed.compareAndSet(false, true)) {
                if (accounted < LARGE_BLOCK || !keep(raw, accounted)) {
                    cFree(raw);
                }
                if (accounted > 0) {
                    released(accounted);
                }
            }
        }
    }

    private static void cFree(long raw) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(raw));
        } catch (Throwable t) {
            throw new IllegalStateException("free() failed", t);
        }
    }

    /**
     * Keeps a freed large block for reuse; whether it did. One that does not fit returns the kept ones to C first:
     * the sizes in use have changed (another batch size, another network), so the old ones are stale.
     */
    private static boolean keep(long raw, long size) {
        if (size > BLOCK_CACHE) {
            return false;
        }
        if (CACHED.addAndGet(size) > BLOCK_CACHE) {
            CACHED.addAndGet(-size);
            trim();
            if (CACHED.addAndGet(size) > BLOCK_CACHE) { // other threads filled it meanwhile
                CACHED.addAndGet(-size);
                return false;
            }
        }
        CACHE.computeIfAbsent(size, k -> new ConcurrentLinkedDeque<>()).push(raw);
        return true;
    }

    /** A kept block of exactly {@code size} bytes, or 0. */
    private static long reuse(long size) {
        ConcurrentLinkedDeque<Long> kept = CACHE.get(size);
        Long raw = kept == null ? null : kept.poll();
        if (raw == null) {
            return 0;
        }
        CACHED.addAndGet(-size);
        return raw;
    }

    /** Returns every kept block to C's allocator. */
    public static void trim() {
        CACHE.forEach((size, kept) -> {
            for (Long raw = kept.poll(); raw != null; raw = kept.poll()) {
                cFree(raw);
                CACHED.addAndGet(-size);
            }
        });
    }

    /** Bytes of freed large blocks kept for reuse now. */
    public static long cachedBytes() {
        return CACHED.get();
    }

    /**
     * A zero-filled block of {@code bytes} bytes aligned to {@link #ALIGNMENT}. May first collect garbage (see the
     * class documentation). A block of {@link #LARGE_BLOCK} bytes or more may be one freed before, zeroed again.
     *
     * @throws OutOfMemoryError if C's allocator refuses, even after a collection
     */
    public static Block allocate(long bytes) {
        return allocate(bytes, true);
    }

    /**
     * A block of {@code bytes} bytes aligned to {@link #ALIGNMENT}, zero-filled or not: as {@link #allocate(long)},
     * but with {@code zeroed} false its contents are whatever the memory held (C's {@code malloc}, or a block freed
     * before), for memory that is written in full before it is read. Zeroing a reused block costs a pass over it,
     * which for an eager network's activations is a large share of the time.
     *
     * @throws OutOfMemoryError if C's allocator refuses, even after a collection
     */
    public static Block allocate(long bytes, boolean zeroed) {
        if (bytes < 0 || bytes > Long.MAX_VALUE - 2 * ALIGNMENT) {
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory");
        }
        long size = Math.max(bytes, 1) + ALIGNMENT - 1;
        reserve(size);
        long reused = size >= LARGE_BLOCK ? reuse(size) : 0;
        if (reused != 0) {
            long aligned = (reused + ALIGNMENT - 1) & -ALIGNMENT;
            MemorySegment segment = MemorySegment.ofAddress(aligned).reinterpret(bytes);
            if (zeroed || POISON) {
                segment.fill(zeroed ? (byte) 0 : (byte) 0xFF);
            }
            return new Block(reused, size, segment);
        }
        long raw = zeroed ? calloc(size) : malloc(size);
        if (raw == 0) {
            trim(); // the kept blocks first
            collect(true); // tensors waiting for their cleaner may be what is missing
            raw = zeroed ? calloc(size) : malloc(size);
        }
        if (raw == 0) {
            released(size);
            throw new OutOfMemoryError(String.format(
                    Locale.ROOT,
                    "cannot allocate %d bytes of native memory for a tensor (%d bytes held by tensors)",
                    bytes,
                    OUTSTANDING.get()));
        }
        long aligned = (raw + ALIGNMENT - 1) & -ALIGNMENT;
        MemorySegment segment = MemorySegment.ofAddress(aligned).reinterpret(bytes);
        if (!zeroed && POISON) {
            segment.fill((byte) 0xFF);
        }
        return new Block(raw, size, segment);
    }

    /**
     * A block of {@code bytes} bytes aligned to {@code alignment} (a power of two), not zero-filled and not counted
     * against the budget: for scratch memory the library frees itself, never through a cleaner.
     *
     * @throws OutOfMemoryError if C's allocator refuses
     */
    public static Block allocateScratch(long bytes, long alignment) {
        if (Long.bitCount(alignment) != 1 || bytes < 0 || bytes > Long.MAX_VALUE - 2 * alignment) {
            throw new IllegalArgumentException(bytes + " bytes aligned to " + alignment);
        }
        long size = Math.max(bytes, 1) + alignment - 1;
        long raw = malloc(size);
        if (raw == 0) {
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native scratch memory");
        }
        long aligned = (raw + alignment - 1) & -alignment;
        return new Block(raw, 0, MemorySegment.ofAddress(aligned).reinterpret(bytes));
    }

    private static long malloc(long size) {
        try {
            return ((MemorySegment) MALLOC.invokeExact(size)).address();
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
    }

    private static long calloc(long size) {
        try {
            return ((MemorySegment) CALLOC.invokeExact(1L, size)).address();
        } catch (Throwable t) {
            throw new IllegalStateException("calloc failed", t);
        }
    }

    private static void reserve(long size) {
        long now = OUTSTANDING.addAndGet(size);
        if (BUDGET > 0 && now - BASELINE.get() > threshold) {
            collect(false);
        }
    }

    private static void released(long size) {
        RELEASED.addAndGet(size);
        long now = OUTSTANDING.addAndGet(-size);
        BASELINE.accumulateAndGet(now, Math::min); // only ever moves the next collection earlier
    }

    /**
     * Runs the garbage collector and waits for the cleaners to free what it found: until the outstanding bytes
     * fall back within half the budget of the baseline, stop falling for 10 ms, or {@link #MAX_WAIT_MILLIS} pass.
     * One thread at a time; the others, waiting on it, then find nothing left to do.
     *
     * <p>Then the next threshold: a collection that freed less than half of what had grown since the baseline,
     * although its cleaners had time to run (the wait went quiet, uninterrupted), found memory in use: the threshold
     * doubles past that growth, so a working set larger than the budget stops collecting. One that freed garbage
     * halves it, down to the budget.
     */
    private static void collect(boolean force) {
        synchronized (COLLECTING) {
            long base = BASELINE.get();
            long before = OUTSTANDING.get();
            if (!force && before - base <= threshold) {
                return; // another thread has just collected
            }
            long released = RELEASED.get();
            System.gc();
            long last = before;
            long deadline = System.nanoTime() + MAX_WAIT_MILLIS * 1_000_000;
            int quiet = 0;
            boolean interrupted = false;
            while (quiet < 10 && last - base > BUDGET / 2 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    interrupted = true;
                    break;
                }
                long now = OUTSTANDING.get();
                if (now < last) {
                    quiet = 0;
                    last = now;
                } else {
                    quiet++;
                }
            }
            long freed = RELEASED.get() - released;
            long grown = before - base;
            if (freed >= grown / 2) {
                threshold = Math.max(BUDGET, threshold / 2);
            } else if (quiet >= 10 && !interrupted) {
                threshold = Math.max(threshold, Math.min(2 * grown, Long.MAX_VALUE / 4));
            }
            BASELINE.set(OUTSTANDING.get());
            COLLECTIONS.incrementAndGet();
        }
    }

    /** Bytes held by tensors' native memory now (allocated, not yet freed), alignment slack included. */
    public static long outstandingBytes() {
        return OUTSTANDING.get();
    }

    /** How many times an allocation has run the garbage collector since the JVM started. */
    public static long collections() {
        return COLLECTIONS.get();
    }

    /** The budget in force: {@value #BUDGET_PROPERTY}, else {@link #DEFAULT_BUDGET}; 0 when turned off. */
    public static long budget() {
        return BUDGET;
    }

    /** Parses a byte count with an optional k, m or g suffix (powers of 1024); null gives the default. */
    static long budget(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_BUDGET;
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        int shift = switch (v.charAt(v.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
        };
        try {
            long n = Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1));
            if (n < 0 || n > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + BUDGET_PROPERTY + "=" + value
                    + " is not a byte count (a non-negative integer, optionally followed by k, m or g)");
        }
    }
}
