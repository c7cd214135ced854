package dev.onednn4j.internal.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A tensor as the machinery sees it, as PyTorch's {@code TensorImpl}: a view (shape, strides from a {@link Format},
 * an {@link ElementType}) over a {@link Storage}, holding the storage open until {@link #close()}. The public
 * {@code Tensor} is a thin face over one of these; operations, plans and graphs work on these and never on the face.
 *
 * <p>Lifetimes: closing the last tensor over owned memory frees it once no running operation holds a pin
 * ({@link #pin()}); a tensor never closed is reclaimed by the storage's cleaner. Memory that maps a file is
 * "file-backed": native code never reads it (a truncated file would fault), so operations read a {@link #stage()}
 * copy, and every Java access turns the fault into an {@link UncheckedIOException} naming the file.
 */
public final class TensorImpl implements AutoCloseable {

    private final MemorySegment data;
    private final long[] shape;
    private final long[] strides;
    private final Format format;
    private final ElementType dtype;
    private final Storage storage;
    private final long numel;
    private volatile boolean closed;

    /** A new tensor over {@code storage}, holding it open until {@link #close()}. */
    private TensorImpl(MemorySegment data, long[] shape, Format format, ElementType dtype, Storage storage) {
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

    /** A new contiguous float32 tensor holding a copy of {@code values}. */
    public static TensorImpl of(float[] values, long... shape) {
        return of(values, Format.CONTIGUOUS, shape);
    }

    /** A new float32 tensor in {@code format} holding a copy of {@code values}, in logical row-major order. */
    public static TensorImpl of(float[] values, Format format, long... shape) {
        Objects.requireNonNull(values, "values");
        return filled(empty(ElementType.FLOAT32, format, shape), t -> t.copyFrom(values));
    }

    /** A new contiguous int64 tensor holding a copy of {@code values}. */
    public static TensorImpl of(long[] values, long... shape) {
        Objects.requireNonNull(values, "values");
        return filled(empty(ElementType.INT64, Format.CONTIGUOUS, shape), t -> t.copyFrom(values));
    }

    /** {@code fill} applied to a new tensor, which is closed if filling fails. */
    public static TensorImpl filled(TensorImpl t, Consumer<TensorImpl> fill) {
        try {
            fill.accept(t);
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /** A new contiguous float32 tensor of zeros. */
    public static TensorImpl zeros(long... shape) {
        return zeros(ElementType.FLOAT32, Format.CONTIGUOUS, shape);
    }

    /** A new float32 tensor of zeros in {@code format}. */
    public static TensorImpl zeros(Format format, long... shape) {
        return zeros(ElementType.FLOAT32, format, shape);
    }

    /** A new tensor of zeros. */
    public static TensorImpl zeros(ElementType dtype, Format format, long... shape) {
        return allocate(dtype, format, shape, true);
    }

    /** A new contiguous float32 tensor whose elements are undefined. */
    public static TensorImpl empty(long... shape) {
        return empty(ElementType.FLOAT32, Format.CONTIGUOUS, shape);
    }

    /** A new float32 tensor in {@code format} whose elements are undefined. */
    public static TensorImpl empty(Format format, long... shape) {
        return empty(ElementType.FLOAT32, format, shape);
    }

    /** A new tensor whose elements are undefined, as {@code torch.empty}. */
    public static TensorImpl empty(ElementType dtype, Format format, long... shape) {
        return allocate(dtype, format, shape, false);
    }

    private static TensorImpl allocate(ElementType dtype, Format format, long[] shape, boolean zeroed) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(format, "format");
        long[] s = checkShape(shape, dtype);
        format.strides(s); // refuses channels_last for a non-4-D shape before allocating
        long bytes = numel(s) * dtype.byteSize();
        NativeMemory.Block block = NativeMemory.allocate(bytes, zeroed); // aligned to NativeMemory.ALIGNMENT
        Storage storage;
        try {
            storage = Storage.owned(block);
        } catch (RuntimeException | Error e) {
            block.free();
            throw e;
        }
        return new TensorImpl(block.segment(), s, format, dtype, storage);
    }

    /**
     * A tensor over the caller's memory, without copying; if {@code segment} lies inside the memory of a live tensor
     * of this library, it shares that tensor's storage (version and lifetime), as a view does.
     *
     * @throws IllegalArgumentException if {@code segment} is too small, on the Java heap or misaligned, a size is
     *     negative, {@code format} does not fit the shape, or it starts inside a tensor's memory and runs past its end
     * @throws IllegalStateException if the segment's arena is closed
     */
    public static TensorImpl wrap(MemorySegment segment, ElementType dtype, Format format, long... shape) {
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
        Storage owner = Storage.registeredOwner(segment.address(), need);
        if (owner != null) { // memory of a live tensor of this library: share its storage, version and lifetime
            MemorySegment slice = owner.memory.asSlice(segment.address() - owner.memory.address(), need);
            return new TensorImpl(segment.isReadOnly() ? slice.asReadOnly() : slice, s, format, dtype, owner);
        }
        return new TensorImpl(segment.asSlice(0, need), s, format, dtype, Storage.caller(segment));
    }

    /**
     * A contiguous uint8 tensor of {@code shape} bytes that owns {@code data}, a mapping of {@code file} that lives
     * in {@code arena}: closing the tensor (once no running operation pins it) closes the arena. The tensor, its
     * views and whatever wraps their memory are file-backed.
     */
    public static TensorImpl adopt(Arena arena, MemorySegment data, String file, long... shape) {
        long[] s = checkShape(shape, ElementType.UINT8);
        if (data.byteSize() < numel(s)) {
            throw new IllegalArgumentException(
                    "segment of " + data.byteSize() + " bytes is too small for " + Arrays.toString(s));
        }
        return new TensorImpl(data, s, Format.CONTIGUOUS, ElementType.UINT8, Storage.mapped(arena, data, file));
    }

    /**
     * A contiguous view of {@code shape} elements of {@code type} starting {@code byteOffset} bytes into this
     * tensor's memory (aligned to the type's size), sharing its lifetime.
     */
    public TensorImpl view(long byteOffset, ElementType type, long... shape) {
        ensureOpen();
        long[] s = checkShape(shape, type);
        long bytes = numel(s) * type.byteSize();
        if (byteOffset < 0 || byteOffset % type.byteSize() != 0 || byteOffset + bytes > data.byteSize()) {
            throw new IllegalArgumentException("view of " + bytes + " bytes at offset " + byteOffset
                    + " does not fit in " + data.byteSize() + " bytes, aligned to " + type.byteSize());
        }
        return new TensorImpl(data.asSlice(byteOffset, bytes), s, Format.CONTIGUOUS, type, storage);
    }

    /**
     * A tensor over the same memory, shape and format that does not own it: closing the alias never frees this
     * tensor's memory (what a layer that passes its input through returns, since the caller owns every result).
     */
    public TensorImpl alias() {
        ensureOpen();
        return new TensorImpl(data, shape, format, dtype, storage);
    }

    // ---- shape ---------------------------------------------------------------------------------

    /** The logical shape, a copy. */
    public long[] shape() {
        return shape.clone();
    }

    /** The shape itself, not a copy: read it, never write it. For allocation-free lookups. */
    public long[] shapeRef() {
        return shape;
    }

    /** Size of dimension {@code dim}; negative counts from the end, as in PyTorch. */
    public long size(int dim) {
        return shape[dimIndex(dim, shape.length)];
    }

    public int dim() {
        return shape.length;
    }

    public long numel() {
        return numel;
    }

    /** Strides in elements, a copy. */
    public long[] strides() {
        return strides.clone();
    }

    public Format format() {
        return format;
    }

    public ElementType dtype() {
        return dtype;
    }

    // ---- data ----------------------------------------------------------------------------------

    /** The elements in logical row-major order, converted to float. */
    public float[] toFloatArray() {
        float[] out = new float[arrayLength()];
        try (var _ = pinned()) {
            if (dtype == ElementType.FLOAT32 && format == Format.CONTIGUOUS) {
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

    /** The elements in logical row-major order, converted to double. */
    public double[] toDoubleArray() {
        double[] out = new double[arrayLength()];
        try (var _ = pinned()) {
            for (int i = 0; i < out.length; i++) {
                out[i] = Elements.getDouble(dtype, data, offsetOfLogical(i));
            }
        } catch (InternalError e) {
            throw faulted(e);
        }
        return out;
    }

    /** The elements in logical row-major order; integer and bool tensors only. */
    public long[] toLongArray() {
        if (dtype.isFloatingPoint()) {
            throw new IllegalStateException(this + " holds " + dtype + " values; toLongArray() reads integer and bool "
                    + "tensors, use toFloatArray() for floating-point ones");
        }
        long[] out = new long[arrayLength()];
        try (var _ = pinned()) {
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
     * Writes zero into every byte of the memory. A fresh zero-filled block of a few hundred kilobytes or more may not
     * be backed by memory of its own until it is written (the operating system maps every page to one shared page of
     * zeros), and reading it then costs less than reading real memory: what is timed must not read it so.
     */
    public void writeZeros() {
        try (var _ = pinned()) {
            data.fill((byte) 0);
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    /** Copies {@code values}, in logical row-major order, converted to this tensor's dtype. */
    public void copyFrom(float[] values) {
        Objects.requireNonNull(values, "values");
        checkLength(values.length);
        try (var _ = pinned()) {
            if (dtype == ElementType.FLOAT32 && format == Format.CONTIGUOUS) {
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

    /** Copies {@code values}, in logical row-major order, converted to this tensor's dtype. */
    public void copyFrom(long[] values) {
        Objects.requireNonNull(values, "values");
        checkLength(values.length);
        try (var _ = pinned()) {
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

    /** Copies another tensor of the same shape (any format, any dtype), converting as PyTorch's {@code copy_}. */
    public void copyFrom(TensorImpl other) {
        Objects.requireNonNull(other, "other");
        ensureWritable();
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "copyFrom: source shape %s does not match this tensor's shape %s",
                    Arrays.toString(other.shape),
                    Arrays.toString(shape)));
        }
        try (var _ = pinned();
                var _ = other.pinned()) {
            if (format == other.format && dtype == other.dtype) {
                MemorySegment.copy(other.data, 0, data, 0, numel * dtype.byteSize());
            } else if (other.dtype.isFloatingPoint()) {
                // [logical row-major] -> [this format]
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
            throw other.storage.file != null ? other.faulted(e) : faulted(e);
        }
        markModified();
    }

    /** The element at a logical index, as a float. */
    public float get(long... index) {
        long off = offsetOf(index);
        try (var _ = pinned()) {
            return Elements.getFloat(dtype, data, off);
        } catch (InternalError e) {
            throw faulted(e);
        }
    }

    /** The element at a logical index of an integer or bool tensor. */
    public long getLong(long... index) {
        if (dtype.isFloatingPoint()) {
            throw new IllegalStateException(
                    this + " holds " + dtype + " values; getLong reads integer and bool tensors, use get(...)");
        }
        long off = offsetOf(index);
        try (var _ = pinned()) {
            return Elements.getLong(dtype, data, off);
        } catch (InternalError e) {
            throw faulted(e);
        }
    }

    /** Sets the element at a logical index, converted to this tensor's dtype. */
    public void set(float value, long... index) {
        ensureWritable();
        long off = offsetOf(index);
        try (var _ = pinned()) {
            Elements.setDouble(dtype, data, off, value);
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    /** Sets the element at a logical index to an integer, converted to this tensor's dtype. */
    public void setLong(long value, long... index) {
        ensureWritable();
        long off = offsetOf(index);
        try (var _ = pinned()) {
            Elements.setLong(dtype, data, off, value);
        } catch (InternalError e) {
            throw faulted(e);
        }
        markModified();
    }

    /** A new tensor with the same values in {@code target} format (always a copy). */
    public TensorImpl toFormat(Format target) {
        return filled(empty(dtype, target, shape), t -> t.copyFrom(this));
    }

    /** A new tensor, in this tensor's format, with the values converted to {@code target}. */
    public TensorImpl to(ElementType target) {
        return filled(empty(target, format, shape), t -> t.copyFrom(this));
    }

    // ---- views ---------------------------------------------------------------------------------

    /** A tensor of another shape over the same memory, as PyTorch's {@code view} (see the public Tensor). */
    public TensorImpl view(long... newShape) {
        ensureOpen();
        long[] s = inferShape(newShape);
        if (!rowMajorInMemory()) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "view size is not compatible with input tensor's size and stride (at least one dimension spans "
                            + "across two contiguous subspaces): %s in %s cannot be viewed as %s. Use .reshape(...) "
                            + "instead.",
                    Arrays.toString(shape),
                    format,
                    Arrays.toString(s)));
        }
        return new TensorImpl(data, s, Format.CONTIGUOUS, dtype, storage);
    }

    /** This tensor's values in another shape: a view where {@link #view} is possible, else a contiguous copy. */
    public TensorImpl reshape(long... newShape) {
        ensureOpen();
        long[] s = inferShape(newShape);
        if (rowMajorInMemory()) {
            return new TensorImpl(data, s, Format.CONTIGUOUS, dtype, storage);
        }
        try (TensorImpl copy = toFormat(Format.CONTIGUOUS)) {
            return new TensorImpl(copy.data, s, Format.CONTIGUOUS, dtype, copy.storage);
        }
    }

    /** Dimensions {@code startDim} to {@code endDim} (inclusive) merged into one, as {@code torch.flatten}. */
    public TensorImpl flatten(int startDim, int endDim) {
        return reshape(flattenedShape(startDim, endDim));
    }

    /** The shape {@link #flatten} gives: (1) for a 0-d tensor. */
    public long[] flattenedShape(int startDim, int endDim) {
        if (shape.length == 0) {
            return new long[] {1};
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
        return s;
    }

    /**
     * Whether the memory holds the elements in logical row-major order: always for a contiguous tensor, and for a
     * channels-last one whose strides match row-major ones on every dimension of size above 1.
     */
    public boolean rowMajorInMemory() {
        if (format == Format.CONTIGUOUS) {
            return true;
        }
        long[] rowMajor = Format.CONTIGUOUS.strides(shape);
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1 && strides[d] != rowMajor[d]) {
                return false;
            }
        }
        return true;
    }

    /** {@code newShape} with a -1 inferred, checked to hold {@link #numel()} elements. */
    public long[] inferShape(long[] newShape) {
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

    // ---- memory, versions and pins -------------------------------------------------------------

    /** The memory, for code that holds a pin ({@link #pin()}). */
    public MemorySegment data() {
        return data;
    }

    /**
     * The memory as the user may keep it: scoped to the memory's life, so that a segment kept after the memory is
     * freed throws instead of reaching freed memory. Counts as a write unless read-only.
     */
    public MemorySegment segment() {
        MemorySegment s = handOut();
        if (!s.isReadOnly()) {
            markModified();
        }
        return s;
    }

    /** {@link #segment()} read-only, without counting as a write. */
    public MemorySegment readOnlySegment() {
        return handOut().asReadOnly();
    }

    private MemorySegment handOut() {
        if (!storage.allocated()) {
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

    /** The storage's write counter, shared with views. */
    public long version() {
        return storage.version();
    }

    /** Whether the memory refuses writes (a view of a read-only mapped file). */
    public boolean isReadOnly() {
        return data.isReadOnly();
    }

    /** Throws {@link UnsupportedOperationException} if the memory refuses writes. */
    public void ensureWritable() {
        if (data.isReadOnly()) {
            throw new UnsupportedOperationException(this + " is read-only (a view of a memory-mapped file); "
                    + "copy it with toMemoryFormat(...) to write");
        }
    }

    /** Records a write made without this tensor's methods. */
    public void markModified() {
        storage.markModified();
    }

    /** Whether the memory maps a file, which native code must never read ({@link #stage()} a copy instead). */
    public boolean fileBacked() {
        return storage.file != null;
    }

    /** Whether any byte of this tensor's memory is a byte of {@code other}'s; by address, allocating nothing. */
    public boolean overlaps(TensorImpl other) {
        long x = data.address();
        long y = other.data.address();
        return x < y + other.data.byteSize() && y < x + data.byteSize();
    }

    /** Whether both are the same elements of the same memory (address, shape, dtype and format). */
    public boolean sameElements(TensorImpl other) {
        return data.address() == other.data.address()
                && dtype == other.dtype
                && format == other.format
                && Arrays.equals(shape, other.shape);
    }

    /**
     * A copy (same shape, format and dtype) in memory the library owns, read in Java: what native code reads instead
     * of file-backed memory.
     */
    public TensorImpl stage() {
        TensorImpl copy = empty(dtype, format, shape);
        try (var _ = pinned()) {
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

    /** Copies a {@link #stage()} copy back into this tensor (which the caller has pinned), in Java. */
    public void unstage(TensorImpl copy) {
        try {
            MemorySegment.copy(copy.data, 0, data, 0, numel * dtype.byteSize());
        } catch (InternalError e) {
            throw faulted(e);
        }
    }

    /**
     * Keeps the memory from being freed until {@link #unpin}; throws {@link IllegalStateException} if it is already
     * closed. Returns the stamp to unpin with. Allocates nothing.
     */
    public long pin() {
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

    /** Releases a pin. */
    public void unpin(long stamp) {
        storage.guard.unlockRead(stamp);
    }

    /** A pin as a resource. */
    private interface Pin extends AutoCloseable {
        @Override
        void close();
    }

    private Pin pinned() {
        long stamp = pin();
        return () -> storage.guard.unlockRead(stamp);
    }

    /**
     * What an {@link InternalError} from a Java access to this memory means: where it maps a file (the JVM turns the
     * fault of reading a page that a shorter file no longer has into that error), an {@link UncheckedIOException}
     * naming the file; anything else is rethrown as it is.
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

    /**
     * PyTorch's refusal of an output that shares memory with what the operation reads ({@code detail} says which),
     * worded as PyTorch's {@code assert_no_partial_overlap}.
     */
    public static IllegalArgumentException overlapError(String detail) {
        return new IllegalArgumentException("unsupported operation: some elements of the input tensor and the "
                + "written-to tensor refer to a single memory location. Please clone() the tensor before performing "
                + "the operation. (" + detail + ")");
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /** Whether this tensor (or the memory under it) has been closed. */
    public boolean isClosed() {
        return closed || storage.freed();
    }

    /** Ends this tensor; the last open tensor over owned memory frees it once no running operation pins it. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        storage.release();
    }

    /** Throws {@link IllegalStateException} if closed. */
    public void ensureOpen() {
        if (isClosed()) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    @Override
    public String toString() {
        return "Tensor(shape=" + Arrays.toString(shape) + ", dtype=" + dtype
                + (format == Format.CONTIGUOUS ? "" : ", memory_format=" + format)
                + (isClosed() ? ", closed" : "") + ")";
    }

    // ---- indexing ------------------------------------------------------------------------------

    /** The offset, in elements, of the element at logical row-major position {@code logical}. */
    private long offsetOfLogical(long logical) {
        if (format == Format.CONTIGUOUS) {
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
     * Validates a shape: no negative size, and a byte size that a {@code long} holds (a shape whose count of elements
     * or bytes overflows is refused with the rule, not an {@link ArithmeticException}). Returns a copy.
     */
    public static long[] checkShape(long[] shape, ElementType dtype) {
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

    /** The product of the sizes, refusing overflow. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Reads and writes one element of any dtype at an element offset, converting as PyTorch's copy_ does. */
    private static final class Elements {
        private Elements() {}

        static double getDouble(ElementType t, MemorySegment m, long i) {
            return switch (t) {
                case FLOAT32 -> m.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                case FLOAT64 -> m.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
                case FLOAT16 -> Float.float16ToFloat(m.getAtIndex(ValueLayout.JAVA_SHORT, i));
                case BFLOAT16 -> Float.intBitsToFloat((m.getAtIndex(ValueLayout.JAVA_SHORT, i) & 0xffff) << 16);
                default -> getLong(t, m, i);
            };
        }

        /** One rounding from any dtype to float, as a C cast: an integer goes to float directly, not via double. */
        static float getFloat(ElementType t, MemorySegment m, long i) {
            return t.isFloatingPoint() ? (float) getDouble(t, m, i) : (float) getLong(t, m, i);
        }

        static long getLong(ElementType t, MemorySegment m, long i) {
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

        static void setDouble(ElementType t, MemorySegment m, long i, double v) {
            switch (t) {
                case FLOAT32 -> m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
                case FLOAT64 -> m.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
                case FLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16((float) v));
                case BFLOAT16 -> m.setAtIndex(ValueLayout.JAVA_SHORT, i, toBfloat16((float) v));
                case BOOL -> m.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
                default -> setLong(t, m, i, (long) v); // truncation toward zero, as a C cast
            }
        }

        static void setLong(ElementType t, MemorySegment m, long i, long v) {
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
