package dev.onednn4j.tensor;

import dev.onednn4j.internal.TensorAccess;
import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.internal.io.NativeMemory;
import dev.onednn4j.internal.op.TensorOps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * An n-dimensional array in native memory, 64-byte aligned, handed to oneDNN without copying.
 *
 * <pre>{@code
 * try (Tensor x = Tensor.of(pixels, 1, 3, 224, 224);          // float[] in (N, C, H, W) order
 *      Tensor y = x.toMemoryFormat(MemoryFormat.CHANNELS_LAST)) {
 *     y.relu_();                                               // in place
 *     float[] back = y.toFloatArray();                         // logical (N, C, H, W) order again
 * }
 * }</pre>
 *
 * <h2>Shape, dtype and memory format</h2>
 * The shape is logical, (N, C, H, W) for images whatever the layout; a 0-d tensor (shape {@code []}) holds
 * one element, as PyTorch's scalars. The element type is a {@link DType}: layers compute in
 * {@link DType#FLOAT32}; the others hold what state dicts carry besides weights. {@link MemoryFormat#CONTIGUOUS}
 * (row-major, the default) or {@link MemoryFormat#CHANNELS_LAST} (NHWC, 4-D only) decides the strides, as
 * PyTorch's {@code memory_format}. {@link #toFloatArray()} and {@link #copyFrom(float[])} always use logical
 * (row-major over the shape) order.
 *
 * <h2>Ownership</h2>
 * <ul>
 *   <li>{@link #of}, {@link #zeros}, {@link #toMemoryFormat}, {@link #add} and {@link #relu} allocate memory that
 *       the new tensor owns, from C's allocator: allocating and freeing cost a call to {@code calloc} and
 *       {@code free}. {@link #close()} frees it at once. A tensor never closed is freed by a {@link Cleaner} once it
 *       is unreachable, which needs a garbage collection; so allocation counts owned memory, and when what was
 *       allocated since the last collection exceeds a budget ({@code -Donednn4j.tensor.gcBudget}, default
 *       {@code 64m}), it runs the collector and waits briefly for the cleaners, as the JDK does for direct
 *       buffers. Memory waiting for a cleaner is so bounded by about one budget; closing is still what frees at
 *       once.</li>
 *   <li>{@link #wrap} uses the caller's memory as is (zero copy): the caller keeps owning it and must keep
 *       it alive while the tensor is used; {@code close()} only ends this tensor's use of it. Memory that lies
 *       inside a live tensor of this library (a {@link #segment()} of it) is that tensor's: the wrap shares its
 *       storage, as a view does (one {@link #version()}, and the memory lives until both are closed).</li>
 *   <li>{@link #view}, and {@link #reshape} or {@link #flatten} where they return a view, share the memory of
 *       their base, and so do the aliases some layers return (an in-place ReLU, Identity): each is a tensor of its
 *       own that the caller closes, and the memory lives until the last tensor over it is closed, as a PyTorch
 *       storage lives while any tensor uses it. Closing the base leaves an open view usable.</li>
 * </ul>
 * Any use after close throws {@link IllegalStateException}; closing twice does nothing. A tensor that a
 * running operation uses is not freed until the operation ends, so closing from another thread cannot
 * crash the JVM. A {@link #segment()} kept after the memory is freed throws on every access: it never reads freed
 * or reused memory.
 *
 * <h2>Memory-mapped files</h2>
 * The zero-copy tensors of a {@code SafeTensors} file, and tensors that wrap a mapped segment, are file-backed:
 * native code never reads them. A file truncated by another process makes reading the pages it lost a SIGBUS,
 * which Java survives (as an {@link InternalError}) and native code does not; so each layer call reads a Java copy
 * of a file-backed tensor, and every Java access turns the fault into an {@link java.io.UncheckedIOException} that
 * names the file. That copy is made on every call: to run a layer repeatedly on file data, copy it once
 * ({@link #toMemoryFormat}) first.
 *
 * <h2>Threads</h2>
 * Reads may run on any number of threads at once. Writes ({@code copyFrom}, {@code set}, an operation's
 * output, an in-place {@code add_}) must not overlap with reads or writes of the same elements, as with any
 * Java array.
 */
public final class Tensor implements AutoCloseable {

    /** Alignment of memory a tensor allocates: a cache line, what oneDNN's kernels prefer. */
    public static final long ALIGNMENT = 64;

    private static final Cleaner CLEANER = Cleaner.create();

    /**
     * The memory of every live storage the library allocated or mapped whose address has been handed out (by
     * {@link #segment()}, or a mapping), by address: how {@link #wrap} recognises memory that lies inside a live
     * tensor and shares that tensor's storage instead of making a second one.
     */
    private static final ConcurrentSkipListMap<Long, Registered> REGISTRY = new ConcurrentSkipListMap<>();

    /** A registry entry: weak, so that the registry never keeps a tensor's memory from being collected. */
    private record Registered(long address, long size, WeakReference<Storage> storage) {}

    static {
        TensorAccess.install(new TensorAccess() {
            @Override
            public long pin(Tensor t) {
                return t.pinStamp();
            }

            @Override
            public void unpin(Tensor t, long stamp) {
                t.storage.guard.unlockRead(stamp);
            }

            @Override
            public MemorySegment data(Tensor t) {
                return t.data;
            }

            @Override
            public long[] shape(Tensor t) {
                return t.shape;
            }

            @Override
            public Tensor adopt(Arena arena, MemorySegment data, String file, long... shape) {
                long[] s = checkShape(shape, DType.UINT8);
                if (data.byteSize() < numel(s)) {
                    throw new IllegalArgumentException(
                            "segment of " + data.byteSize() + " bytes is too small for " + Arrays.toString(s));
                }
                return new Tensor(data, s, MemoryFormat.CONTIGUOUS, DType.UINT8, Storage.mapped(arena, data, file));
            }

            @Override
            public Tensor view(Tensor base, long byteOffset, DType dtype, long... shape) {
                base.ensureOpen();
                long[] s = checkShape(shape, dtype);
                long bytes = numel(s) * dtype.byteSize();
                if (byteOffset < 0 || byteOffset % dtype.byteSize() != 0 || byteOffset + bytes > base.data.byteSize()) {
                    throw new IllegalArgumentException("view of " + bytes + " bytes at offset " + byteOffset
                            + " does not fit in " + base.data.byteSize() + " bytes, aligned to " + dtype.byteSize());
                }
                return new Tensor(
                        base.data.asSlice(byteOffset, bytes), s, MemoryFormat.CONTIGUOUS, dtype, base.storage);
            }

            @Override
            public Tensor alias(Tensor t) {
                t.ensureOpen();
                return new Tensor(t.data, t.shape, t.format, t.dtype, t.storage);
            }

            @Override
            public boolean fileBacked(Tensor t) {
                return t.storage.file != null;
            }

            @Override
            public Tensor stage(Tensor t) {
                return t.stagedCopy();
            }

            @Override
            public void unstage(Tensor copy, Tensor t) {
                try {
                    MemorySegment.copy(copy.data, 0, t.data, 0, t.numel * t.dtype.byteSize());
                } catch (InternalError e) {
                    throw t.faulted(e);
                }
            }

            @Override
            public boolean overlaps(Tensor a, Tensor b) {
                long x = a.data.address();
                long y = b.data.address();
                return x < y + b.data.byteSize() && y < x + a.data.byteSize();
            }

            @Override
            public boolean sameElements(Tensor a, Tensor b) {
                return a.data.address() == b.data.address()
                        && a.dtype == b.dtype
                        && a.format == b.format
                        && Arrays.equals(a.shape, b.shape);
            }
        });
    }

    /**
     * Memory shared by a tensor, its views, its aliases and the tensors that wrap part of it: who frees it, the close
     * guard, the version counter, and how many open tensors hold it. Owned memory is freed when the last of them is
     * closed (or by the cleaner once none is reachable), as PyTorch frees a storage when its last tensor goes.
     */
    private static final class Storage {
        /** The whole memory, as the library reaches it (for owned memory: global scope, never handed out). */
        final MemorySegment memory;
        /** Frees the memory; null when it is the caller's. */
        final Release release;

        final Cleaner.Cleanable cleanable;
        /** The file the memory maps, for messages; null when it maps no file. */
        final String file;

        final StampedLock guard = new StampedLock();
        final AtomicLong version = new AtomicLong();
        final AtomicInteger holders = new AtomicInteger();
        volatile boolean freed;

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
        void free() {
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
         * {@code slice} (part of {@link #memory}) as the user may keep it: for memory the library allocated, a
         * segment of this storage's own shared arena, which is closed when the memory is freed, so that a segment
         * kept past that throws instead of reaching freed memory. The caller holds a pin.
         */
        MemorySegment exposed(MemorySegment slice) {
            if (release == null || release.block == null) {
                return slice; // the caller's memory as given, or a mapping whose arena closes when it is unmapped
            }
            MemorySegment s = slice.reinterpret(release.exposure(this), null);
            return slice.isReadOnly() ? s.asReadOnly() : s;
        }
    }

    /**
     * What frees a storage's memory, run once: by {@link Storage#free()} or by the cleaner. It refers to the
     * memory, never to the storage, so that an unreachable storage can be collected.
     */
    private static final class Release implements Runnable {
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

    /**
     * The live storage whose memory holds {@code [address, address + bytes)}, or null if no registered storage holds
     * {@code address}.
     *
     * @throws IllegalArgumentException if the range starts inside a storage's memory and runs past its end
     * @throws IllegalStateException if that storage's memory has been freed
     */
    private static Storage registeredOwner(long address, long bytes) {
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

    private final MemorySegment data;
    private final long[] shape;
    private final long[] strides;
    private final MemoryFormat format;
    private final DType dtype;
    private final Storage storage;
    private final long numel;
    private volatile boolean closed;

    /** A new tensor over {@code storage}, holding it open until {@link #close()}. */
    private Tensor(MemorySegment data, long[] shape, MemoryFormat format, DType dtype, Storage storage) {
        this.data = data;
        this.shape = shape;
        this.format = format;
        this.dtype = dtype;
        this.strides = format.strides(shape);
        this.storage = storage;
        this.numel = numel(shape);
        if (!storage.hold()) {
            throw new IllegalStateException("the memory under " + this + " has been freed");
        }
    }

    // ---- creation ------------------------------------------------------------------------------

    /**
     * A new contiguous float32 tensor holding a copy of {@code values} (row-major over {@code shape}).
     *
     * @param values the elements in row-major order, as many as {@code shape} holds
     * @param shape  the logical shape, e.g. (N, C, H, W); none at all gives a 0-d tensor
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException if {@code values.length} does not match {@code shape}, or a size is negative
     */
    public static Tensor of(float[] values, long... shape) {
        return of(values, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new float32 tensor in {@code format} holding a copy of {@code values}, given in logical row-major order.
     *
     * @param values the elements in logical row-major order, as many as {@code shape} holds
     * @param format the memory layout; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D shape
     * @param shape  the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException if {@code values.length} does not match {@code shape}, a size is negative,
     *     or {@code format} does not fit the shape
     */
    public static Tensor of(float[] values, MemoryFormat format, long... shape) {
        Objects.requireNonNull(values, "values");
        return filled(empty(DType.FLOAT32, format, shape), t -> t.copyFrom(values));
    }

    /**
     * A new contiguous int64 tensor holding a copy of {@code values} (row-major over {@code shape}).
     *
     * @param values the elements in row-major order, as many as {@code shape} holds
     * @param shape  the logical shape; none at all gives a 0-d tensor
     * @return a new {@link DType#INT64} tensor, owned by the caller
     * @throws IllegalArgumentException if {@code values.length} does not match {@code shape}, or a size is negative
     */
    public static Tensor of(long[] values, long... shape) {
        Objects.requireNonNull(values, "values");
        return filled(empty(DType.INT64, MemoryFormat.CONTIGUOUS, shape), t -> t.copyFrom(values));
    }

    /** {@code fill} applied to a new tensor, which is closed if filling fails. */
    private static Tensor filled(Tensor t, java.util.function.Consumer<Tensor> fill) {
        try {
            fill.accept(t);
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * A new contiguous float32 tensor of zeros; no dimensions at all gives a 0-d tensor (one element).
     *
     * @param shape the logical shape, e.g. (N, C, H, W)
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException if a size is negative, or the tensor would have more bytes than a
     *     {@code long} counts
     */
    public static Tensor zeros(long... shape) {
        return zeros(DType.FLOAT32, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new float32 tensor of zeros in {@code format}.
     *
     * @param format the memory layout; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D shape
     * @param shape  the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException if a size is negative, or {@code format} does not fit the shape
     */
    public static Tensor zeros(MemoryFormat format, long... shape) {
        return zeros(DType.FLOAT32, format, shape);
    }

    /**
     * A new contiguous tensor of zeros of {@code dtype}.
     *
     * @param dtype the element type
     * @param shape the logical shape; none at all gives a 0-d tensor
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException if a size is negative, or the tensor would have more bytes than a
     *     {@code long} counts
     */
    public static Tensor zeros(DType dtype, long... shape) {
        return zeros(dtype, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new tensor of zeros of {@code dtype} in {@code format}.
     *
     * @param dtype  the element type
     * @param format the memory layout; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D shape
     * @param shape  the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a new tensor, zero-filled and aligned to {@link #ALIGNMENT} bytes, owned by the caller
     * @throws IllegalArgumentException if a size is negative, {@code format} does not fit the shape, or the tensor
     *     would have more bytes than a {@code long} counts
     */
    public static Tensor zeros(DType dtype, MemoryFormat format, long... shape) {
        return allocate(dtype, format, shape, true);
    }

    /**
     * A new contiguous float32 tensor whose elements are undefined, as {@code torch.empty}.
     *
     * @param shape the logical shape, e.g. (N, C, H, W)
     * @return a new tensor, owned by the caller, holding whatever its memory held before (never read it before
     *     writing it)
     * @throws IllegalArgumentException if a size is negative
     */
    public static Tensor empty(long... shape) {
        return empty(DType.FLOAT32, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new float32 tensor whose elements are undefined, as {@code torch.empty}: for a tensor that is written in full
     * before it is read, such as the {@code out} of {@code forward(x, out)}, it saves the pass that zeroing takes.
     *
     * @param format the memory layout; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D shape
     * @param shape  the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a new tensor, owned by the caller, holding whatever its memory held before (never read it before
     *     writing it)
     * @throws IllegalArgumentException if a size is negative, or {@code format} does not fit the shape
     */
    public static Tensor empty(MemoryFormat format, long... shape) {
        return empty(DType.FLOAT32, format, shape);
    }

    /**
     * A new tensor of {@code dtype} in {@code format} whose elements are undefined, as {@code torch.empty}.
     *
     * @param dtype  the element type
     * @param format the memory layout; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D shape
     * @param shape  the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a new tensor, aligned to {@link #ALIGNMENT} bytes, owned by the caller, holding whatever its memory held
     *     before
     * @throws IllegalArgumentException if a size is negative, {@code format} does not fit the shape, or the tensor
     *     would have more bytes than a {@code long} counts
     */
    public static Tensor empty(DType dtype, MemoryFormat format, long... shape) {
        return allocate(dtype, format, shape, false);
    }

    private static Tensor allocate(DType dtype, MemoryFormat format, long[] shape, boolean zeroed) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(format, "format");
        long[] s = checkShape(shape, dtype);
        format.strides(s); // refuses channels_last for a non-4-D shape before allocating
        long bytes = numel(s) * dtype.byteSize();
        NativeMemory.Block block = NativeMemory.allocate(bytes, zeroed); // aligned to ALIGNMENT
        Storage storage;
        try {
            storage = Storage.owned(block);
        } catch (RuntimeException | Error e) {
            block.free();
            throw e;
        }
        return new Tensor(block.segment(), s, format, dtype, storage);
    }

    /**
     * A float32 tensor over the caller's memory, without copying: {@code segment} must hold at least
     * {@code numel * 4} bytes in {@code format}, aligned to 4 bytes (64 is best for oneDNN), and stay alive while
     * the tensor is used. Closing the tensor does not free it. A read-only segment gives a read-only tensor (see
     * {@link #isReadOnly()}). Every use checks that the segment's arena is still open and accessible from the
     * calling thread; closing that arena while a call is running on another thread is the caller's error, which
     * no check can catch in time.
     *
     * <p>If {@code segment} lies inside the memory of a live tensor of this library (it is, or is part of, a
     * {@link #segment()} of one), the new tensor shares that tensor's storage, as a view does: writes through
     * either advance the same {@link #version()} (so a layer holding a transformed copy of that memory, such as a
     * convolution's reordered weights, refreshes it), and the memory lives until the last tensor over it is closed.
     * A segment of a mapped file makes the tensor file-backed (see the class documentation).
     *
     * @param segment native memory holding the elements, owned by the caller
     * @param format  how the elements lie in {@code segment}
     * @param shape   the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a tensor over the first {@code numel * 4} bytes of {@code segment}; the caller closes it, which
     *     leaves the memory to its owner
     * @throws IllegalArgumentException if {@code segment} is too small, on the Java heap or misaligned, a size is
     *     negative, {@code format} does not fit the shape, or it starts inside a tensor's memory and runs past
     *     its end
     * @throws IllegalStateException if the segment's arena is closed (a segment of a closed tensor)
     */
    public static Tensor wrap(MemorySegment segment, MemoryFormat format, long... shape) {
        return wrap(segment, DType.FLOAT32, format, shape);
    }

    /**
     * {@link #wrap(MemorySegment, MemoryFormat, long...)} in the contiguous format.
     *
     * @param segment native memory holding the elements in row-major order, owned by the caller
     * @param shape   the logical shape
     * @return a tensor over {@code segment}, closed by the caller; closing it leaves the memory to its owner
     * @throws IllegalArgumentException if {@code segment} is too small, on the Java heap or misaligned, or a size
     *     is negative
     */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        return wrap(segment, DType.FLOAT32, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * {@link #wrap(MemorySegment, MemoryFormat, long...)} for elements of {@code dtype}, aligned to its size.
     *
     * @param segment native memory holding at least {@code numel * dtype.byteSize()} bytes, owned by the caller
     * @param dtype   the element type
     * @param format  how the elements lie in {@code segment}
     * @param shape   the logical shape, (N, C, H, W) for images whatever {@code format}
     * @return a tensor over {@code segment}, closed by the caller; closing it leaves the memory to its owner
     * @throws IllegalArgumentException if {@code segment} is too small, on the Java heap or not aligned to
     *     {@code dtype}'s size, a size is negative, or {@code format} does not fit the shape
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, MemoryFormat format, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(format, "format");
        long[] s = checkShape(shape, dtype);
        format.strides(s);
        long need = numel(s) * dtype.byteSize();
        if (segment.byteSize() < need) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "segment of %d bytes is too small for a %s tensor of shape %s (%d bytes)",
                    segment.byteSize(),
                    dtype,
                    Arrays.toString(s),
                    need));
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment must be native memory (oneDNN cannot read the Java heap); "
                    + "copy heap arrays with Tensor.of(float[], ...)");
        }
        if (segment.address() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(segment.address())
                    + " is not aligned to " + dtype.byteSize() + " bytes, as " + dtype + " needs");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("segment's arena has been closed (is it the segment of a closed tensor?)");
        }
        Storage owner = registeredOwner(segment.address(), need);
        if (owner != null) { // memory of a live tensor of this library: share its storage, version and lifetime
            MemorySegment slice = owner.memory.asSlice(segment.address() - owner.memory.address(), need);
            return new Tensor(segment.isReadOnly() ? slice.asReadOnly() : slice, s, format, dtype, owner);
        }
        return new Tensor(segment.asSlice(0, need), s, format, dtype, Storage.caller(segment));
    }

    // ---- shape ---------------------------------------------------------------------------------

    /**
     * The logical shape, (N, C, H, W) for images whatever the memory format; {@code []} for a 0-d tensor. A copy.
     *
     * @return a new array of the sizes, one per dimension
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Size of dimension {@code dim}; negative counts from the end, as in PyTorch.
     *
     * @param dim the dimension, in {@code [-dim(), dim())}: {@code size(1)} is C of an (N, C, H, W) tensor,
     *     {@code size(-1)} its W
     * @return the size of that dimension
     * @throws IndexOutOfBoundsException if {@code dim} is out of range (always, for a 0-d tensor)
     */
    public long size(int dim) {
        return shape[dimIndex(dim, shape.length)];
    }

    /**
     * Number of dimensions (0 for a scalar).
     *
     * @return the rank, {@code shape().length}: 4 for (N, C, H, W)
     */
    public int dim() {
        return shape.length;
    }

    /**
     * Number of elements.
     *
     * @return the product of the shape: 1 for a 0-d tensor, 0 if any size is 0
     */
    public long numel() {
        return numel;
    }

    /**
     * Strides in elements, one per dimension. A copy.
     *
     * @return a new array of strides in elements (not bytes), in (N, C, H, W) order whatever the format:
     *     {@code (C*H*W, H*W, W, 1)} contiguous, {@code (H*W*C, 1, W*C, C)} channels-last
     */
    public long[] strides() {
        return strides.clone();
    }

    /**
     * How the elements lie in memory.
     *
     * @return {@link MemoryFormat#CONTIGUOUS} or {@link MemoryFormat#CHANNELS_LAST}, fixed at creation
     */
    public MemoryFormat memoryFormat() {
        return format;
    }

    /**
     * The element type.
     *
     * @return the dtype, fixed at creation ({@link #to(DType)} gives a converted copy)
     */
    public DType dtype() {
        return dtype;
    }

    // ---- data ----------------------------------------------------------------------------------

    /**
     * A new float[] with the elements in logical row-major order, converted from this tensor's dtype as
     * PyTorch's {@code tensor.float()} converts (integers above 2^24 round).
     *
     * @return a new array of {@link #numel()} floats, the caller's
     * @throws IllegalStateException if this tensor is closed or has more elements than a Java array holds
     */
    public float[] toFloatArray() {
        Tracer.access(this, "toFloatArray");
        float[] out = new float[arrayLength()];
        try (var _ = pin()) {
            if (dtype == DType.FLOAT32 && format == MemoryFormat.CONTIGUOUS) {
                MemorySegment.copy(data, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
            } else {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Elements.getFloat(dtype, data, offsetOfLogical(i));
                }
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        return out;
    }

    /**
     * A new double[] with the elements in logical row-major order, converted from this tensor's dtype (exactly,
     * for every dtype but int64 beyond 2^53): how a float64 result, such as PyTorch's reference output, is read.
     *
     * @return a new array of {@link #numel()} doubles, the caller's
     * @throws IllegalStateException if this tensor is closed or has more elements than a Java array holds
     */
    public double[] toDoubleArray() {
        Tracer.access(this, "toDoubleArray");
        double[] out = new double[arrayLength()];
        try (var _ = pin()) {
            for (int i = 0; i < out.length; i++) {
                out[i] = Elements.getDouble(dtype, data, offsetOfLogical(i));
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        return out;
    }

    /**
     * A new long[] with the elements in logical row-major order; for integer and bool tensors only (bool gives 0
     * or 1), since a float does not convert to an integer without a rounding choice.
     *
     * @return a new array of {@link #numel()} longs, the caller's
     * @throws IllegalStateException for a floating-point tensor
     */
    public long[] toLongArray() {
        Tracer.access(this, "toLongArray");
        if (dtype.isFloatingPoint()) {
            throw new IllegalStateException(this + " holds " + dtype + " values; toLongArray() reads integer and bool "
                    + "tensors, use toFloatArray() for floating-point ones");
        }
        long[] out = new long[arrayLength()];
        try (var _ = pin()) {
            for (int i = 0; i < out.length; i++) {
                out[i] = Elements.getLong(dtype, data, offsetOfLogical(i));
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        return out;
    }

    private int arrayLength() {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(
                    String.format(Locale.ROOT, "%s has %d elements, more than a Java array holds", this, numel));
        }
        return (int) numel;
    }

    /**
     * Copies {@code values}, in logical row-major order, into this tensor, converted to its dtype (to an integer
     * dtype by truncation toward zero, as PyTorch's {@code copy_}).
     *
     * @param values {@link #numel()} elements in logical row-major order, whatever the memory format
     * @throws IllegalArgumentException if {@code values.length} is not {@link #numel()}
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(float[] values) {
        Tracer.access(this, "copyFrom");
        Objects.requireNonNull(values, "values");
        checkLength(values.length);
        try (var _ = pin()) {
            if (dtype == DType.FLOAT32 && format == MemoryFormat.CONTIGUOUS) {
                MemorySegment.copy(values, 0, data, ValueLayout.JAVA_FLOAT, 0, values.length);
            } else {
                for (int i = 0; i < values.length; i++) {
                    Elements.setDouble(dtype, data, offsetOfLogical(i), values[i]);
                }
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    /**
     * Copies {@code values}, in logical row-major order, into this tensor, converted to its dtype.
     *
     * @param values {@link #numel()} elements in logical row-major order, whatever the memory format
     * @throws IllegalArgumentException if {@code values.length} is not {@link #numel()}
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(long[] values) {
        Tracer.access(this, "copyFrom");
        Objects.requireNonNull(values, "values");
        checkLength(values.length);
        try (var _ = pin()) {
            for (int i = 0; i < values.length; i++) {
                Elements.setLong(dtype, data, offsetOfLogical(i), values[i]);
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    private void checkLength(int length) {
        ensureWritable();
        if (length != numel) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "copyFrom: array of length %d does not match the %d elements of a tensor of shape %s",
                    length,
                    numel,
                    Arrays.toString(shape)));
        }
    }

    /**
     * Copies another tensor of the same shape (any memory format, any dtype) into this one, converting as
     * PyTorch's {@code copy_} does: between floating types by rounding, from floating to integer types by
     * truncation toward zero, to bool by {@code != 0}.
     *
     * @param other the source, of this tensor's shape; it stays the caller's, unchanged
     * @throws IllegalArgumentException if the shapes differ
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(Tensor other) {
        Objects.requireNonNull(other, "other");
        ensureWritable();
        if (Tracer.copy(other, this)) {
            return; // compiling: recorded, not copied
        }
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "copyFrom: source shape %s does not match this tensor's shape %s",
                    Arrays.toString(other.shape),
                    Arrays.toString(shape)));
        }
        try (var _ = pin();
                var _ = other.pin()) {
            if (format == other.format && dtype == other.dtype) {
                MemorySegment.copy(other.data, 0, data, 0, numel * dtype.byteSize());
            } else if (other.dtype.isFloatingPoint()) {
                for (long i = 0; i < numel; i++) {
                    Elements.setDouble(
                            dtype,
                            data,
                            offsetOfLogical(i),
                            Elements.getDouble(other.dtype, other.data, other.offsetOfLogical(i)));
                }
            } else {
                for (long i = 0; i < numel; i++) {
                    Elements.setLong(
                            dtype,
                            data,
                            offsetOfLogical(i),
                            Elements.getLong(other.dtype, other.data, other.offsetOfLogical(i)));
                }
            }
        } catch (InternalError e) {
            throw faulted(e, other);
        }
        markModified();
    }

    /**
     * The element at a logical index, as a float (converted from this tensor's dtype).
     *
     * @param index one index per dimension, in logical (N, C, H, W) order whatever the memory format; none for a
     *     0-d tensor
     * @return the element, converted to float as {@link #toFloatArray()} converts
     * @throws IllegalArgumentException if there are not {@link #dim()} indices
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     */
    public float get(long... index) {
        Tracer.access(this, "get");
        long off = offsetOf(index);
        try (var _ = pin()) {
            return Elements.getFloat(dtype, data, off);
        } catch (InternalError e) {
            throw faulted(e);
        }
    }

    /**
     * The element at a logical index of an integer or bool tensor; {@code getLong()} reads a 0-d tensor.
     *
     * @param index one index per dimension, in logical order; none for a 0-d tensor
     * @return the element; 0 or 1 for bool
     * @throws IllegalStateException for a floating-point tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     */
    public long getLong(long... index) {
        Tracer.access(this, "getLong");
        if (dtype.isFloatingPoint()) {
            throw new IllegalStateException(
                    this + " holds " + dtype + " values; getLong reads integer and bool " + "tensors, use get(...)");
        }
        long off = offsetOf(index);
        try (var _ = pin()) {
            return Elements.getLong(dtype, data, off);
        } catch (InternalError e) {
            throw faulted(e);
        }
    }

    /**
     * Sets the element at a logical index, converted to this tensor's dtype.
     *
     * @param value the new value, converted as {@link #copyFrom(float[])} converts
     * @param index one index per dimension, in logical order; none for a 0-d tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void set(float value, long... index) {
        Tracer.access(this, "set");
        ensureWritable();
        long off = offsetOf(index);
        try (var _ = pin()) {
            Elements.setDouble(dtype, data, off, value);
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    /**
     * Sets the element at a logical index to an integer, converted to this tensor's dtype.
     *
     * @param value the new value: a narrower integer dtype keeps its low bits (as a C cast), bool takes
     *     {@code value != 0}, a floating-point one rounds
     * @param index one index per dimension, in logical order; none for a 0-d tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void setLong(long value, long... index) {
        Tracer.access(this, "setLong");
        ensureWritable();
        long off = offsetOf(index);
        try (var _ = pin()) {
            Elements.setLong(dtype, data, off, value);
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    // ---- element-wise operations ---------------------------------------------------------------

    /**
     * A new tensor, in this tensor's memory format, holding {@code this + other} element by element, as
     * PyTorch's {@code torch.add} without broadcasting: same shape, float32, the formats may differ. Runs on
     * oneDNN; the result is exact IEEE addition, the same bits on every backend.
     *
     * @param other the second operand: float32, of this tensor's shape, in either memory format
     * @return a new float32 tensor, owned by the caller
     * @throws IllegalArgumentException if the shapes differ or either tensor is not float32
     */
    public Tensor add(Tensor other) {
        Objects.requireNonNull(other, "other");
        TensorOps.checkSameShape(this, other, "add");
        return filled(empty(dtype, format, shape), out -> TensorOps.add(this, other, out));
    }

    /**
     * Adds {@code other} to this tensor in place ({@code this += other}) and returns this tensor, as PyTorch's
     * {@code add_}: the residual connection of a ResNet block, without allocating. Same shape, float32; the formats
     * may differ. {@code other} may be this tensor itself (doubling it).
     *
     * @param other what to add: float32, of this tensor's shape, in either memory format
     * @return this tensor, for chaining (not a new one: do not close it twice)
     * @throws IllegalArgumentException if the shapes differ or either tensor is not float32
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public Tensor add_(Tensor other) {
        Objects.requireNonNull(other, "other");
        ensureWritable();
        TensorOps.checkSameShape(this, other, "add_");
        TensorOps.add(this, other, this);
        return this;
    }

    /**
     * A new tensor, in this tensor's memory format, holding {@code max(this, 0)}, as PyTorch's {@code torch.relu}.
     *
     * @return a new float32 tensor of this tensor's shape, owned by the caller
     * @throws IllegalArgumentException if this tensor is not float32
     */
    public Tensor relu() {
        return filled(empty(dtype, format, shape), out -> TensorOps.relu(this, out));
    }

    /**
     * Replaces every element by {@code max(x, 0)} in place and returns this tensor, as PyTorch's {@code relu_}.
     *
     * @return this tensor, for chaining (not a new one: do not close it twice)
     * @throws IllegalArgumentException if this tensor is not float32
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public Tensor relu_() {
        ensureWritable();
        TensorOps.relu(this, this);
        return this;
    }

    /**
     * {@code this * other} with numpy broadcasting, as {@code torch.mul} (a squeeze-excitation scale: (N, C, H, W) times
     * (N, C, 1, 1)), on oneDNN's binary primitive.
     *
     * @param other float32, broadcasting with this tensor (one of the two has the result's shape)
     * @return a new contiguous float32 tensor, owned by the caller
     */
    public Tensor mul(Tensor other) {
        return TensorOps.mul(this, Objects.requireNonNull(other, "other"));
    }

    /**
     * The matrix product, as {@code torch.matmul} of operands of 2 or more dimensions (batch dimensions broadcast).
     *
     * @param other float32, (*, k, n) for this (*, m, k)
     * @return a new contiguous float32 tensor (*, m, n), owned by the caller
     */
    public Tensor matmul(Tensor other) {
        return TensorOps.matmul(this, Objects.requireNonNull(other, "other"));
    }

    /**
     * Softmax along {@code dim}, as {@code torch.softmax}.
     *
     * @param dim the dimension, negative counting from the end
     * @return a new contiguous float32 tensor of this shape, owned by the caller
     */
    public Tensor softmax(long dim) {
        return TensorOps.softmax(this, dim);
    }

    /**
     * Concatenation along {@code dim}, as {@code torch.cat}.
     *
     * @param tensors float32 tensors of one shape except along {@code dim}
     * @param dim the dimension, negative counting from the end
     * @return a new contiguous float32 tensor, owned by the caller
     */
    public static Tensor cat(java.util.List<Tensor> tensors, long dim) {
        return TensorOps.cat(Objects.requireNonNull(tensors, "tensors"), dim);
    }

    /**
     * A new tensor with the same values in {@code target} format (always a copy, owned by the caller).
     *
     * @param target the layout of the copy; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D tensor
     * @return a new writable tensor of this shape and dtype, even when {@code target} is this tensor's format
     * @throws IllegalArgumentException if {@code target} does not fit the shape
     */
    public Tensor toMemoryFormat(MemoryFormat target) {
        return filled(empty(dtype, target, shape), t -> t.copyFrom(this));
    }

    /**
     * A new tensor, in this tensor's memory format, with the values converted to {@code target}, as PyTorch's
     * {@code tensor.to(dtype)}.
     *
     * @param target the element type of the copy, converted to as {@link #copyFrom(Tensor)} converts
     * @return a new tensor of this shape, owned by the caller; a copy even when {@code target} is this dtype
     */
    public Tensor to(DType target) {
        return filled(empty(target, format, shape), t -> t.copyFrom(this));
    }

    // ---- views ---------------------------------------------------------------------------------

    /**
     * A tensor of another shape over the same memory (no copy), as PyTorch's {@code view}: {@code numel} must not
     * change, and one dimension may be -1 (inferred). A contiguous tensor can always be viewed; a channels-last one
     * only where its memory is also row-major (one channel, or 1x1 pixels), else PyTorch's error, which points to
     * {@link #reshape}. The view keeps the memory alive until it is closed too.
     *
     * @param newShape the view's shape, holding {@link #numel()} elements; one size may be -1
     * @return a new contiguous tensor over this tensor's memory, to be closed by the caller
     * @throws IllegalArgumentException if {@code newShape} does not hold {@link #numel()} elements or has more than
     *     one -1
     * @throws IllegalStateException if the memory is not row-major (channels-last with several channels and
     *     pixels), or this tensor is closed
     */
    public Tensor view(long... newShape) {
        ensureOpen();
        long[] s = inferShape(newShape);
        if (!rowMajorInMemory()) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "view size is not compatible with input "
                            + "tensor's size and stride (at least one dimension spans across two contiguous subspaces): %s in "
                            + "%s cannot be viewed as %s. Use .reshape(...) instead.",
                    Arrays.toString(shape),
                    format,
                    Arrays.toString(s)));
        }
        return new Tensor(data, s, MemoryFormat.CONTIGUOUS, dtype, storage);
    }

    /**
     * This tensor's values in another shape, as PyTorch's {@code reshape}: a view (no copy) where {@link #view}
     * is possible, else a new contiguous copy. Either way the result is the caller's to close and closing it never
     * frees this tensor's memory; write through it only if you know which one you got.
     *
     * @param newShape the new shape, holding {@link #numel()} elements; one size may be -1
     * @return a contiguous tensor of {@code newShape}, a view or a copy, to be closed by the caller
     * @throws IllegalArgumentException if {@code newShape} does not hold {@link #numel()} elements or has more than
     *     one -1
     */
    public Tensor reshape(long... newShape) {
        ensureOpen();
        long[] s = inferShape(newShape);
        if (rowMajorInMemory()) {
            return new Tensor(data, s, MemoryFormat.CONTIGUOUS, dtype, storage);
        }
        try (Tensor copy = toMemoryFormat(MemoryFormat.CONTIGUOUS)) {
            return new Tensor(copy.data, s, MemoryFormat.CONTIGUOUS, dtype, copy.storage);
        }
    }

    /**
     * Dimensions {@code startDim} to the last merged into one, as PyTorch's {@code torch.flatten(x, startDim)}:
     * {@code flatten(1)} turns (N, C, H, W) into (N, C*H*W). A view where possible (a contiguous tensor, or a
     * channels-last one of 1x1 pixels as a ResNet's pooled features), else a contiguous copy, as
     * {@link #reshape}.
     *
     * @param startDim the first dimension to merge; negative counts from the end
     * @return a contiguous tensor with the dimensions from {@code startDim} on merged (a 0-d tensor gives shape
     *     (1)), a view or a copy, to be closed by the caller
     * @throws IndexOutOfBoundsException if {@code startDim} is out of range
     */
    public Tensor flatten(int startDim) {
        return flatten(startDim, -1);
    }

    /**
     * Dimensions {@code startDim} to {@code endDim} (inclusive; negative counts from the end) merged into one.
     *
     * @param startDim the first dimension to merge
     * @param endDim   the last dimension to merge; -1 is the last one
     * @return a contiguous tensor, a view or a copy as {@link #reshape}, to be closed by the caller
     * @throws IllegalArgumentException if {@code startDim} comes after {@code endDim}
     * @throws IndexOutOfBoundsException if either dimension is out of range
     */
    public Tensor flatten(int startDim, int endDim) {
        if (shape.length == 0) {
            return reshape(1);
        }
        int start = dimIndex(startDim, shape.length);
        int end = dimIndex(endDim, shape.length);
        if (start > end) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "flatten() has invalid args: start_dim (%d) cannot come after end_dim (%d)",
                    startDim,
                    endDim));
        }
        long[] s = new long[shape.length - (end - start)];
        int j = 0;
        for (int i = 0; i < start; i++) {
            s[j++] = shape[i];
        }
        long merged = 1;
        for (int i = start; i <= end; i++) {
            merged *= shape[i];
        }
        s[j++] = merged;
        for (int i = end + 1; i < shape.length; i++) {
            s[j++] = shape[i];
        }
        return reshape(s);
    }

    /**
     * Whether the memory holds the elements in logical row-major order: always for a contiguous tensor, and for a
     * channels-last one whose strides match row-major ones on every dimension of size above 1 (one channel, or
     * 1x1 pixels), since a dimension of size 1 never moves through memory.
     */
    private boolean rowMajorInMemory() {
        if (format == MemoryFormat.CONTIGUOUS) {
            return true;
        }
        long[] rowMajor = MemoryFormat.CONTIGUOUS.strides(shape);
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1 && strides[d] != rowMajor[d]) {
                return false;
            }
        }
        return true;
    }

    private long[] inferShape(long[] newShape) {
        Objects.requireNonNull(newShape, "shape");
        long[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException(
                            "only one dimension can be inferred, got shape " + Arrays.toString(newShape));
                }
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException(
                        "invalid shape dimension " + s[i] + " in " + Arrays.toString(newShape));
            } else {
                known = Math.multiplyExact(known, s[i]);
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT, "shape '%s' is invalid for input of size %d", Arrays.toString(newShape), numel));
            }
            s[infer] = numel / known;
        }
        if (numel(checkShape(s, dtype)) != numel) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "shape '%s' is invalid for input of size %d", Arrays.toString(newShape), numel));
        }
        return s;
    }

    /**
     * The memory itself, for zero-copy interop: {@link #numel()} elements of {@link #dtype()} laid out by
     * {@link #strides()}.
     *
     * <p><b>Writes and versions.</b> Handing out a writable segment counts as a write: {@link #version()} changes
     * now, so a layer that keeps a transformed copy of this tensor (a convolution's weights in oneDNN's layout)
     * refreshes it on its next call. Write through the segment before that call. A write made later through a
     * segment kept from before a layer ran is not seen until {@link #markModified()}: to keep writing, take a new
     * segment each time, or wrap it once ({@link #wrap} of this memory gives a tensor that shares this one's
     * storage, version included) and write through that tensor. To read, {@link #readOnlySegment()} changes nothing.
     *
     * <p><b>Lifetime.</b> The segment is valid while the memory is: until this tensor and every other tensor over
     * the same memory (views, aliases, wraps) are closed, or collected unclosed. After that, every access through it
     * throws {@link IllegalStateException} (its scope is closed), never reaching freed memory; native code given its
     * address is beyond that check. For a wrapped tensor it is the caller's own segment, valid as long as the
     * caller keeps it.
     *
     * @return the segment over the elements, read-only if {@link #isReadOnly()}; not a copy
     * @throws IllegalStateException if this tensor is closed
     */
    public MemorySegment segment() {
        Tracer.access(this, "segment");
        MemorySegment s = handOut();
        if (!s.isReadOnly()) {
            markModified();
        }
        return s;
    }

    /**
     * The memory itself, read-only, for reading without copying (writing a file, handing it to a reader): as
     * {@link #segment()}, with the same lifetime, but without counting as a write.
     *
     * @return a read-only segment over the elements; not a copy
     * @throws IllegalStateException if this tensor is closed
     */
    public MemorySegment readOnlySegment() {
        Tracer.access(this, "readOnlySegment");
        return handOut().asReadOnly();
    }

    /** The segment the user may keep: scoped to the memory's life (see {@link #segment()}). */
    private MemorySegment handOut() {
        if (storage.release == null || storage.release.block == null) {
            ensureOpen();
            return data;
        }
        long stamp = storage.guard.readLock();
        try {
            ensureOpen();
            return storage.exposed(data);
        } finally {
            storage.guard.unlockRead(stamp);
        }
    }

    /**
     * Counts writes to this tensor's memory, as PyTorch's {@code _version}: operations that keep a derived
     * copy (Conv2d's weights in oneDNN's layout) compare it to know when to refresh. Shared with views.
     *
     * @return the number of writes recorded so far; only whether it changed means anything
     */
    public long version() {
        return storage.version.get();
    }

    /**
     * Whether the memory refuses writes: a zero-copy view of a read-only memory-mapped file. Such a tensor
     * can be an input or a weight, never an output; {@code toMemoryFormat} gives a writable copy.
     *
     * @return true if writes through this tensor throw {@link UnsupportedOperationException}
     */
    public boolean isReadOnly() {
        return data.isReadOnly();
    }

    private void ensureWritable() {
        if (data.isReadOnly()) {
            throw new UnsupportedOperationException(this + " is read-only (a view of a memory-mapped file); "
                    + "copy it with toMemoryFormat(...) to write");
        }
    }

    /**
     * Records a write made without this tensor's methods (through a {@link #segment()} kept from earlier, or by
     * native code), so that layers holding a transformed copy of this memory refresh it. Shared with every tensor
     * over the same memory.
     */
    public void markModified() {
        storage.version.incrementAndGet();
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /**
     * Whether this tensor (or the memory under it) has been closed.
     *
     * @return true once closed; every use then throws {@link IllegalStateException}
     */
    public boolean isClosed() {
        return closed || storage.freed;
    }

    /**
     * Ends this tensor. If it is the last open tensor over memory the library allocated (no view, alias or wrap of it
     * is open), the memory is freed now, once no running operation uses it; memory passed to {@link #wrap} stays
     * the caller's. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        storage.release();
    }

    private void ensureOpen() {
        if (isClosed()) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    /** Keeps the memory from being freed while held; fails if already closed. */
    private interface Pin extends AutoCloseable {
        @Override
        void close();
    }

    private Pin pin() {
        long stamp = pinStamp();
        return () -> storage.guard.unlockRead(stamp);
    }

    private long pinStamp() {
        long stamp = storage.guard.readLock();
        if (isClosed()) {
            storage.guard.unlockRead(stamp);
            throw new IllegalStateException(this + " is closed");
        }
        if (storage.release == null) {
            // wrapped caller memory: its owner may have freed it, or confined it to another thread
            if (!data.scope().isAlive()) {
                storage.guard.unlockRead(stamp);
                throw new IllegalStateException(this + " wraps memory whose arena has been closed by its owner");
            }
            if (!data.isAccessibleBy(Thread.currentThread())) {
                storage.guard.unlockRead(stamp);
                throw new IllegalStateException(this + " wraps memory confined to another thread; wrap memory of a "
                        + "shared or global arena to use it from "
                        + Thread.currentThread().getName());
            }
        }
        return stamp;
    }

    /**
     * What an {@link InternalError} from a Java access to this tensor's memory means: where the memory maps a file
     * (the JVM turns the fault of reading a page that a shorter file no longer has into that error), an
     * {@link UncheckedIOException} naming the file; anything else is rethrown as it is.
     */
    private RuntimeException faulted(InternalError e) {
        if (storage.file == null) {
            throw e;
        }
        return new UncheckedIOException(new IOException(
                String.format(
                        Locale.ROOT,
                        "cannot access %s: its memory maps %s, which was truncated or became unreadable after it was "
                                + "mapped (%s)",
                        this,
                        storage.file,
                        e.getMessage()),
                e));
    }

    /** {@link #faulted(InternalError)} for an access to this tensor and {@code other}: blames the file-backed one. */
    private RuntimeException faulted(InternalError e, Tensor other) {
        return other.storage.file != null ? other.faulted(e) : faulted(e);
    }

    /**
     * A copy of this tensor (same shape, format and dtype) in memory the library owns, read in Java: what native
     * code reads instead of file-backed memory, whose faults only Java accesses survive.
     */
    private Tensor stagedCopy() {
        Tensor copy = empty(dtype, format, shape);
        try (var _ = pin()) {
            MemorySegment.copy(data, 0, copy.data, 0, numel * dtype.byteSize());
        } catch (InternalError e) {
            copy.close();
            throw faulted(e);
        } catch (RuntimeException | Error e) {
            copy.close();
            throw e;
        }
        return copy;
    }

    @Override
    public String toString() {
        return "Tensor(shape=" + Arrays.toString(shape) + ", dtype=" + dtype
                + (format == MemoryFormat.CONTIGUOUS ? "" : ", memory_format=" + format)
                + (closed || storage.freed ? ", closed" : "") + ")";
    }

    // ---- indexing ------------------------------------------------------------------------------

    /** The offset, in elements, of the element at logical row-major position {@code logical}. */
    private long offsetOfLogical(long logical) {
        if (format == MemoryFormat.CONTIGUOUS) {
            return logical;
        }
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            long size = shape[d];
            off += (logical % size) * strides[d];
            logical /= size;
        }
        return off;
    }

    private long offsetOf(long[] index) {
        Objects.requireNonNull(index, "index");
        if (index.length != shape.length) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "index %s has %d dimensions, the tensor has %d",
                    Arrays.toString(index),
                    index.length,
                    shape.length));
        }
        long off = 0;
        for (int d = 0; d < shape.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IndexOutOfBoundsException(String.format(
                        Locale.ROOT, "index %d is out of bounds for dimension %d with size %d", index[d], d, shape[d]));
            }
            off += index[d] * strides[d];
        }
        return off;
    }

    private static int dimIndex(int dim, int rank) {
        int r = Math.max(rank, 1); // PyTorch lets a 0-d tensor be indexed as if it had one dimension
        int d = dim < 0 ? dim + r : dim;
        if (d < 0 || d >= r || rank == 0) {
            throw new IndexOutOfBoundsException(String.format(
                    Locale.ROOT,
                    "Dimension out of range (expected to be in range of [%d, %d], but got %d)",
                    -r,
                    r - 1,
                    dim));
        }
        return d;
    }

    /**
     * Validates a shape: no negative size, and a byte size that a {@code long} holds (a shape whose count of
     * elements or bytes overflows is refused with the rule, not an {@link ArithmeticException}).
     */
    private static long[] checkShape(long[] shape, DType dtype) {
        Objects.requireNonNull(shape, "shape");
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                        "Trying to create tensor with negative dimension " + d + ": " + Arrays.toString(shape));
            }
        }
        try {
            Math.multiplyExact(numel(shape), (long) dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "shape %s of %s has more bytes than a long counts (2^63 - 1)",
                    Arrays.toString(shape),
                    dtype));
        }
        return shape.clone();
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Reads and writes one element of any dtype at an element offset, converting as PyTorch's copy_ does. */
    private static final class Elements {
        private Elements() {}

        static double getDouble(DType t, MemorySegment m, long i) {
            return switch (t) {
                case FLOAT32 -> m.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                case FLOAT64 -> m.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
                case FLOAT16 -> Float.float16ToFloat(m.getAtIndex(ValueLayout.JAVA_SHORT, i));
                case BFLOAT16 -> Float.intBitsToFloat((m.getAtIndex(ValueLayout.JAVA_SHORT, i) & 0xffff) << 16);
                default -> getLong(t, m, i);
            };
        }

        /** One rounding from any dtype to float, as a C cast: an integer goes to float directly, not via double. */
        static float getFloat(DType t, MemorySegment m, long i) {
            return t.isFloatingPoint() ? (float) getDouble(t, m, i) : (float) getLong(t, m, i);
        }

        static long getLong(DType t, MemorySegment m, long i) {
            return switch (t) {
                case INT64 -> m.getAtIndex(ValueLayout.JAVA_LONG, i);
                case INT32 -> m.getAtIndex(ValueLayout.JAVA_INT, i);
                case INT16 -> m.getAtIndex(ValueLayout.JAVA_SHORT, i);
                case INT8 -> m.get(ValueLayout.JAVA_BYTE, i);
                case UINT8 -> m.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                case BOOL -> m.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
                default -> (long) getDouble(t, m, i); // truncation toward zero
            };
        }

        static void setDouble(DType t, MemorySegment m, long i, double v) {
            switch (t) {
                case FLOAT32 -> m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
                case FLOAT64 -> m.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
                case FLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16((float) v));
                case BFLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT, i, toBfloat16((float) v));
                case BOOL -> m.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
                default -> setLong(t, m, i, (long) v); // truncation toward zero, as a C cast
            }
        }

        static void setLong(DType t, MemorySegment m, long i, long v) {
            switch (t) {
                case INT64 -> m.setAtIndex(ValueLayout.JAVA_LONG, i, v);
                case INT32 -> m.setAtIndex(ValueLayout.JAVA_INT, i, (int) v);
                case INT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) v);
                case INT8, UINT8 -> m.set(ValueLayout.JAVA_BYTE, i, (byte) v);
                case BOOL -> m.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
                case FLOAT64 -> m.setAtIndex(ValueLayout.JAVA_DOUBLE, i, (double) v);
                // to the narrower floats through float, as PyTorch's casts go: one rounding to float32
                default -> setDouble(t, m, i, (float) v);
            }
        }

        /** Round to nearest even, NaN kept a (quiet) NaN, as PyTorch's float-to-bfloat16 conversion. */
        static short toBfloat16(float f) {
            int bits = Float.floatToRawIntBits(f);
            if (Float.isNaN(f)) {
                return (short) ((bits >>> 16) | 0x0040);
            }
            int rounding = 0x7fff + ((bits >>> 16) & 1);
            return (short) ((bits + rounding) >>> 16);
        }
    }
}
