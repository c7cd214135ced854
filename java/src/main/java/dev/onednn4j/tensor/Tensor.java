package dev.onednn4j.tensor;

import dev.onednn4j.internal.TensorAccess;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * An n-dimensional array of float32 in native memory, 64-byte aligned, handed to oneDNN without copying.
 *
 * <h2>Shape and memory format</h2>
 * The shape is logical, (N, C, H, W) for images whatever the layout. {@link MemoryFormat#CONTIGUOUS}
 * (NCHW, the default) or {@link MemoryFormat#CHANNELS_LAST} (NHWC) decides the strides, as PyTorch's
 * {@code memory_format}. {@link #toFloatArray()} and {@link #copyFrom(float[])} always use logical
 * (row-major over the shape) order.
 *
 * <h2>Ownership</h2>
 * <ul>
 *   <li>{@link #of}, {@link #zeros} and {@link #toMemoryFormat} allocate memory that this tensor owns.
 *       {@link #close()} frees it at once; a tensor never closed is freed when it becomes unreachable
 *       (a {@link Cleaner} safety net: do not rely on it for native memory pressure).</li>
 *   <li>{@link #wrap} uses the caller's memory as is (zero copy): the caller keeps owning it and must keep
 *       it alive while the tensor is used; {@code close()} only ends this tensor's use of it.</li>
 *   <li>{@link #view} shares the memory of its base: closing the view ends only the view, closing the
 *       base frees the memory and ends every view.</li>
 * </ul>
 * Any use after close throws {@link IllegalStateException}; closing twice does nothing. A tensor that a
 * running operation uses is not freed until the operation ends, so closing from another thread cannot
 * crash the JVM.
 *
 * <h2>Threads</h2>
 * Reads may run on any number of threads at once. Writes ({@code copyFrom}, {@code set}, an operation's
 * output) must not overlap with reads or writes of the same elements, as with any Java array.
 */
public final class Tensor implements AutoCloseable {

    /** Alignment of memory a tensor allocates: a cache line, what oneDNN's kernels prefer. */
    public static final long ALIGNMENT = 64;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

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
            public Tensor adopt(Arena arena, MemorySegment data, long... shape) {
                long[] s = checkShape(shape);
                if (data.byteSize() < Math.multiplyExact(numel(s), 4L)) {
                    throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is too small for "
                            + Arrays.toString(s));
                }
                return new Tensor(data, s, MemoryFormat.CONTIGUOUS, new Storage(arena), true);
            }

            @Override
            public Tensor view(Tensor base, long byteOffset, long... shape) {
                base.ensureOpen();
                long[] s = checkShape(shape);
                long bytes = Math.multiplyExact(numel(s), 4L);
                if (byteOffset < 0 || byteOffset % 4 != 0 || byteOffset + bytes > base.data.byteSize()) {
                    throw new IllegalArgumentException("view of " + bytes + " bytes at offset " + byteOffset
                            + " does not fit in " + base.data.byteSize() + " bytes 4-byte aligned");
                }
                return new Tensor(base.data.asSlice(byteOffset, bytes), s, MemoryFormat.CONTIGUOUS, base.storage,
                        false);
            }
        });
    }

    /** Memory shared by a tensor and its views: who frees it, the close guard, the version counter. */
    private static final class Storage {
        final Arena arena; // null when the memory is the caller's
        final Cleaner.Cleanable cleanable;
        final StampedLock guard = new StampedLock();
        final AtomicLong version = new AtomicLong();
        volatile boolean freed;

        /** Memory the tensor owns: freed by {@link #free()}, or by the cleaner once nothing refers to it. */
        Storage(Arena arena) {
            this.arena = arena;
            this.cleanable = arena == null ? null : CLEANER.register(this, arena::close);
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
    }

    private final MemorySegment data;
    private final long[] shape;
    private final long[] strides;
    private final MemoryFormat format;
    private final Storage storage;
    private final boolean owner;
    private final long numel;
    private volatile boolean closed;

    private Tensor(MemorySegment data, long[] shape, MemoryFormat format, Storage storage, boolean owner) {
        this.data = data;
        this.shape = shape;
        this.format = format;
        this.strides = format.strides(shape);
        this.storage = storage;
        this.owner = owner;
        this.numel = numel(shape);
    }

    // ---- creation ------------------------------------------------------------------------------

    /** A new contiguous tensor holding a copy of {@code values} (row-major over {@code shape}). */
    public static Tensor of(float[] values, long... shape) {
        return of(values, MemoryFormat.CONTIGUOUS, shape);
    }

    /** A new tensor in {@code format} holding a copy of {@code values}, given in logical row-major order. */
    public static Tensor of(float[] values, MemoryFormat format, long... shape) {
        Objects.requireNonNull(values, "values");
        Tensor t = zeros(format, shape);
        try {
            t.copyFrom(values);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** A new contiguous tensor of zeros. */
    public static Tensor zeros(long... shape) {
        return zeros(MemoryFormat.CONTIGUOUS, shape);
    }

    /** A new tensor of zeros in {@code format}. */
    public static Tensor zeros(MemoryFormat format, long... shape) {
        long[] s = checkShape(shape);
        Objects.requireNonNull(format, "format");
        format.strides(s); // refuses channels_last for a non-4-D shape before allocating
        long bytes = Math.multiplyExact(numel(s), (long) DType.FLOAT32.byteSize());
        Arena arena = Arena.ofShared();
        MemorySegment seg;
        try {
            seg = arena.allocate(bytes, ALIGNMENT); // zero-filled
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
        return new Tensor(seg, s, format, new Storage(arena), true);
    }

    /**
     * A tensor over the caller's memory, without copying: {@code segment} must hold at least
     * {@code numel * 4} bytes of float32 in {@code format}, aligned to 4 bytes (64 is best for oneDNN),
     * and stay alive while the tensor is used. Closing the tensor does not free it. A read-only segment
     * gives a read-only tensor (see {@link #isReadOnly()}). Every use checks that the segment's arena is
     * still open and accessible from the calling thread; closing that arena while a call is running on
     * another thread is the caller's error, which no check can catch in time.
     */
    public static Tensor wrap(MemorySegment segment, MemoryFormat format, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(format, "format");
        long[] s = checkShape(shape);
        format.strides(s);
        long need = Math.multiplyExact(numel(s), (long) DType.FLOAT32.byteSize());
        if (segment.byteSize() < need) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "segment of %d bytes is too small for a float32 tensor of shape %s (%d bytes)",
                    segment.byteSize(), Arrays.toString(s), need));
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment must be native memory (oneDNN cannot read the Java heap); "
                    + "copy heap arrays with Tensor.of(float[], ...)");
        }
        if (segment.address() % DType.FLOAT32.byteSize() != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(segment.address())
                    + " is not aligned to 4 bytes, as float32 needs");
        }
        return new Tensor(segment.asSlice(0, need), s, format, new Storage(null), false);
    }

    /** {@link #wrap(MemorySegment, MemoryFormat, long...)} in the contiguous format. */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        return wrap(segment, MemoryFormat.CONTIGUOUS, shape);
    }


    // ---- shape ---------------------------------------------------------------------------------

    /** The logical shape, (N, C, H, W) for images whatever the memory format. A copy. */
    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code dim}; negative counts from the end, as in PyTorch. */
    public long size(int dim) {
        int d = dim < 0 ? dim + shape.length : dim;
        if (d < 0 || d >= shape.length) {
            throw new IndexOutOfBoundsException(String.format(Locale.ROOT,
                    "Dimension out of range (expected to be in range of [%d, %d], but got %d)",
                    -shape.length, shape.length - 1, dim));
        }
        return shape[d];
    }

    /** Number of dimensions. */
    public int dim() {
        return shape.length;
    }

    /** Number of elements. */
    public long numel() {
        return numel;
    }

    /** Strides in elements, one per dimension. A copy. */
    public long[] strides() {
        return strides.clone();
    }

    public MemoryFormat memoryFormat() {
        return format;
    }

    public DType dtype() {
        return DType.FLOAT32;
    }

    // ---- data ----------------------------------------------------------------------------------

    /** A new float[] with the elements in logical row-major order. */
    public float[] toFloatArray() {
        long n = numel;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(String.format(Locale.ROOT,
                    "%s has %d elements, more than a Java array holds", this, n));
        }
        float[] out = new float[(int) n];
        try (var pin = pin()) {
            if (format == MemoryFormat.CONTIGUOUS) {
                MemorySegment.copy(data, F32, 0, out, 0, out.length);
            } else {
                forEachLogical((i, offset) -> out[i] = data.getAtIndex(F32, offset));
            }
        }
        return out;
    }

    /**
     * Copies {@code values}, in logical row-major order, into this tensor.
     *
     * @throws IllegalArgumentException if {@code values.length} is not {@link #numel()}
     */
    public void copyFrom(float[] values) {
        Objects.requireNonNull(values, "values");
        ensureWritable();
        if (values.length != numel) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "copyFrom: array of length %d does not match the %d elements of a tensor of shape %s",
                    values.length, numel, Arrays.toString(shape)));
        }
        try (var pin = pin()) {
            if (format == MemoryFormat.CONTIGUOUS) {
                MemorySegment.copy(values, 0, data, F32, 0, values.length);
            } else {
                forEachLogical((i, offset) -> data.setAtIndex(F32, offset, values[i]));
            }
        }
        markModified();
    }

    /** Copies another tensor of the same shape (any memory format) into this one. */
    public void copyFrom(Tensor other) {
        Objects.requireNonNull(other, "other");
        ensureWritable();
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "copyFrom: source shape %s does not match this tensor's shape %s",
                    Arrays.toString(other.shape), Arrays.toString(shape)));
        }
        try (var a = pin(); var b = other.pin()) {
            if (format == other.format) {
                MemorySegment.copy(other.data, 0, data, 0, numel * 4);
            } else {
                forEachLogical((i, offset) -> data.setAtIndex(F32, offset,
                        other.data.getAtIndex(F32, other.offsetOfLogical(i))));
            }
        }
        markModified();
    }

    /** The element at a logical index. */
    public float get(long... index) {
        long off = offsetOf(index);
        try (var pin = pin()) {
            return data.getAtIndex(F32, off);
        }
    }

    /** Sets the element at a logical index. */
    public void set(float value, long... index) {
        ensureWritable();
        long off = offsetOf(index);
        try (var pin = pin()) {
            data.setAtIndex(F32, off, value);
        }
        markModified();
    }

    /**
     * A new tensor, in this tensor's memory format, holding {@code this + other} element by element
     * (same shape; the formats may differ), as PyTorch's {@code torch.add} without broadcasting.
     */
    public Tensor add(Tensor other) {
        Objects.requireNonNull(other, "other");
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "The size of tensor a %s must match the size of tensor b %s (add does not broadcast)",
                    Arrays.toString(shape), Arrays.toString(other.shape)));
        }
        Tensor out = zeros(format, shape);
        try (var a = pin(); var b = other.pin()) {
            if (format == other.format) {
                for (long i = 0; i < numel; i++) {
                    out.data.setAtIndex(F32, i, data.getAtIndex(F32, i) + other.data.getAtIndex(F32, i));
                }
            } else {
                forEachLogical((i, offset) -> out.data.setAtIndex(F32, offset,
                        data.getAtIndex(F32, offset) + other.data.getAtIndex(F32, other.offsetOfLogical(i))));
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** A new tensor with the same values in {@code target} format (always a copy, owned by the caller). */
    public Tensor toMemoryFormat(MemoryFormat target) {
        Tensor t = zeros(target, shape);
        try {
            t.copyFrom(this);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /**
     * A tensor of another shape over the same memory (no copy), as PyTorch's {@code view}. Only for
     * contiguous tensors; {@code numel} must not change. Closing the view does not free the memory.
     */
    public Tensor view(long... newShape) {
        ensureOpen();
        long[] s = checkShape(newShape);
        if (format != MemoryFormat.CONTIGUOUS) {
            throw new IllegalStateException("view needs a contiguous tensor, this one is " + format
                    + "; use toMemoryFormat(MemoryFormat.CONTIGUOUS) first");
        }
        if (numel(s) != numel) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "shape '%s' is invalid for input of size %d", Arrays.toString(s), numel));
        }
        return new Tensor(data, s, MemoryFormat.CONTIGUOUS, storage, false);
    }

    /**
     * The memory itself, for zero-copy interop: {@link #numel()} float32 values laid out by
     * {@link #strides()}. Valid until this tensor (or, for a view, its base) is closed; use it no longer.
     * After writing through it, call {@link #markModified()} so that layers holding a transformed copy
     * (a convolution's reordered weights) refresh it.
     */
    public MemorySegment segment() {
        ensureOpen();
        return data;
    }

    /**
     * Counts writes to this tensor's memory, as PyTorch's {@code _version}: operations that keep a derived
     * copy (Conv2d's weights in oneDNN's layout) compare it to know when to refresh. Shared with views.
     */
    public long version() {
        return storage.version.get();
    }

    /**
     * Whether the memory refuses writes: a zero-copy view of a read-only memory-mapped file. Such a tensor
     * can be an input or a weight, never an output; {@code toMemoryFormat} gives a writable copy.
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

    /** Records a write made through {@link #segment()}. */
    public void markModified() {
        storage.version.incrementAndGet();
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /** Whether this tensor (or the memory under it) has been closed. */
    public boolean isClosed() {
        return closed || storage.freed;
    }

    /**
     * Ends this tensor. An owning tensor frees its memory now, once no running operation uses it; a
     * wrapped tensor or a view only stops being usable. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owner) {
            storage.free();
        }
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
        if (storage.arena == null) {
            // wrapped caller memory: its owner may have freed it, or confined it to another thread
            if (!data.scope().isAlive()) {
                storage.guard.unlockRead(stamp);
                throw new IllegalStateException(this + " wraps memory whose arena has been closed by its owner");
            }
            if (!data.isAccessibleBy(Thread.currentThread())) {
                storage.guard.unlockRead(stamp);
                throw new IllegalStateException(this + " wraps memory confined to another thread; wrap memory of a "
                        + "shared or global arena to use it from " + Thread.currentThread().getName());
            }
        }
        return stamp;
    }

    @Override
    public String toString() {
        return "Tensor(shape=" + Arrays.toString(shape) + ", dtype=" + DType.FLOAT32
                + (format == MemoryFormat.CONTIGUOUS ? "" : ", memory_format=" + format)
                + (closed || storage.freed ? ", closed" : "") + ")";
    }

    // ---- indexing ------------------------------------------------------------------------------

    @FunctionalInterface
    private interface ElementVisitor {
        void visit(int logicalIndex, long offset);
    }

    /** Visits every element in logical row-major order with its offset in memory. */
    private void forEachLogical(ElementVisitor v) {
        int n = (int) numel;
        for (int i = 0; i < n; i++) {
            v.visit(i, offsetOfLogical(i));
        }
    }

    private long offsetOfLogical(long logical) {
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
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "index %s has %d dimensions, the tensor has %d", Arrays.toString(index), index.length,
                    shape.length));
        }
        long off = 0;
        for (int d = 0; d < shape.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IndexOutOfBoundsException(String.format(Locale.ROOT,
                        "index %d is out of bounds for dimension %d with size %d", index[d], d, shape[d]));
            }
            off += index[d] * strides[d];
        }
        return off;
    }

    private static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one dimension");
        }
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        numel(shape);
        return shape.clone();
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
