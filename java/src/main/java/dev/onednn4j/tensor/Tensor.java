package dev.onednn4j.tensor;

import dev.onednn4j.internal.graph.TensorOps;
import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.internal.memory.ElementType;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

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
 * The shape is logical, (N, C, H, W) for images whatever the layout; a 0-d tensor (shape {@code []}) holds one
 * element, as PyTorch's scalars. The element type is a {@link DType}: layers compute in {@link DType#FLOAT32}; the
 * others hold what state dicts carry besides weights. {@link MemoryFormat#CONTIGUOUS} (row-major, the default) or
 * {@link MemoryFormat#CHANNELS_LAST} (NHWC, 4-D only) decides the strides, as PyTorch's {@code memory_format}.
 * {@link #toFloatArray()} and {@link #copyFrom(float[])} always use logical (row-major over the shape) order.
 *
 * <h2>Ownership</h2>
 * {@link #of}, {@link #zeros}, {@link #empty} and the operations allocate memory that the new tensor owns;
 * {@link #close()} frees it at once, and a tensor never closed is freed once unreachable (allocation runs the garbage
 * collector when more than {@code -Donednn4j.tensor.gcBudget}, default {@code 64m}, waits for it). {@link #wrap} uses
 * the caller's memory as is. Views ({@link #view}, {@link #reshape}, {@link #flatten} where possible) and the aliases
 * some layers return share their base's memory, which lives until the last tensor over it is closed, as a PyTorch
 * storage does. Any use after close throws {@link IllegalStateException}; closing twice does nothing; a tensor a
 * running operation uses is not freed until the operation ends. The details, with memory-mapped files:
 * docs/memory-and-lifetimes.md.
 *
 * <h2>Threads</h2>
 * Reads may run on any number of threads at once. Writes ({@code copyFrom}, {@code set}, an operation's output, an
 * in-place {@code add_}) must not overlap with reads or writes of the same elements, as with any Java array.
 *
 * <p>A tensor is a thin face over the library's own representation, which its operations work on.
 */
public final class Tensor implements AutoCloseable {

    /** Alignment of memory a tensor allocates: a cache line, what oneDNN's kernels prefer. */
    public static final long ALIGNMENT = 64;

    static {
        Faces.register(Tensor.class, new Faces.Face<>() {
            @Override
            public TensorImpl impl(Tensor face) {
                return face.impl;
            }

            @Override
            public Tensor of(TensorImpl impl) {
                return new Tensor(impl);
            }
        });
    }

    private final TensorImpl impl;

    private Tensor(TensorImpl impl) {
        this.impl = impl;
    }

    static ElementType type(DType dtype) {
        return ElementType.valueOf(Objects.requireNonNull(dtype, "dtype").name());
    }

    static Format format(MemoryFormat format) {
        return Format.valueOf(Objects.requireNonNull(format, "format").name());
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
        return new Tensor(TensorImpl.of(values, Format.CONTIGUOUS, shape));
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
        return new Tensor(TensorImpl.of(values, format(format), shape));
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
        return new Tensor(TensorImpl.of(values, shape));
    }

    /**
     * A new contiguous float32 tensor of zeros; no dimensions at all gives a 0-d tensor (one element).
     *
     * @param shape the logical shape, e.g. (N, C, H, W)
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException as {@link #zeros(DType, MemoryFormat, long...)}
     */
    public static Tensor zeros(long... shape) {
        return zeros(DType.FLOAT32, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new float32 tensor of zeros in {@code format}.
     *
     * @param format the memory layout
     * @param shape  the logical shape
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException as {@link #zeros(DType, MemoryFormat, long...)}
     */
    public static Tensor zeros(MemoryFormat format, long... shape) {
        return zeros(DType.FLOAT32, format, shape);
    }

    /**
     * A new contiguous tensor of zeros of {@code dtype}.
     *
     * @param dtype the element type
     * @param shape the logical shape
     * @return a new tensor, owned by the caller
     * @throws IllegalArgumentException as {@link #zeros(DType, MemoryFormat, long...)}
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
        return new Tensor(TensorImpl.zeros(type(dtype), format(format), shape));
    }

    /**
     * A new contiguous float32 tensor whose elements are undefined, as {@code torch.empty}.
     *
     * @param shape the logical shape
     * @return a new tensor, owned by the caller, holding whatever its memory held before
     * @throws IllegalArgumentException as {@link #empty(DType, MemoryFormat, long...)}
     */
    public static Tensor empty(long... shape) {
        return empty(DType.FLOAT32, MemoryFormat.CONTIGUOUS, shape);
    }

    /**
     * A new float32 tensor in {@code format} whose elements are undefined, as {@code torch.empty}.
     *
     * @param format the memory layout
     * @param shape  the logical shape
     * @return a new tensor, owned by the caller, holding whatever its memory held before
     * @throws IllegalArgumentException as {@link #empty(DType, MemoryFormat, long...)}
     */
    public static Tensor empty(MemoryFormat format, long... shape) {
        return empty(DType.FLOAT32, format, shape);
    }

    /**
     * A new tensor of {@code dtype} in {@code format} whose elements are undefined, as {@code torch.empty}: for a
     * tensor written in full before it is read (the {@code out} of {@code forward(x, out)}), it saves zeroing.
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
        return new Tensor(TensorImpl.empty(type(dtype), format(format), shape));
    }

    /**
     * A float32 tensor over the caller's memory, without copying: {@code segment} must hold at least
     * {@code numel * 4} bytes in {@code format}, aligned to 4 bytes (64 is best for oneDNN), and stay alive while
     * the tensor is used. Closing the tensor does not free it. A read-only segment gives a read-only tensor. Every
     * use checks that the segment's arena is still open and accessible from the calling thread.
     *
     * <p>If {@code segment} lies inside the memory of a live tensor of this library (a {@link #segment()} of one),
     * the new tensor shares that tensor's storage, as a view does: one {@link #version()}, and the memory lives until
     * the last tensor over it is closed. A segment of a mapped file makes the tensor file-backed
     * (docs/memory-and-lifetimes.md).
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
     * @return a tensor over {@code segment}, closed by the caller
     * @throws IllegalArgumentException as {@link #wrap(MemorySegment, MemoryFormat, long...)}
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
     * @param shape   the logical shape
     * @return a tensor over {@code segment}, closed by the caller
     * @throws IllegalArgumentException as {@link #wrap(MemorySegment, MemoryFormat, long...)}
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, MemoryFormat format, long... shape) {
        return new Tensor(TensorImpl.wrap(segment, type(dtype), format(format), shape));
    }

    // ---- shape ---------------------------------------------------------------------------------

    /**
     * The logical shape, (N, C, H, W) for images whatever the memory format; {@code []} for a 0-d tensor.
     *
     * @return a new array of the sizes, one per dimension
     */
    public long[] shape() {
        return impl.shape();
    }

    /**
     * Size of dimension {@code dim}; negative counts from the end, as in PyTorch ({@code size(-1)} is W).
     *
     * @param dim the dimension, in {@code [-dim(), dim())}
     * @return the size of that dimension
     * @throws IndexOutOfBoundsException if {@code dim} is out of range (always, for a 0-d tensor)
     */
    public long size(int dim) {
        return impl.size(dim);
    }

    /**
     * Number of dimensions.
     *
     * @return the rank, {@code shape().length}: 0 for a scalar, 4 for (N, C, H, W)
     */
    public int dim() {
        return impl.dim();
    }

    /**
     * Number of elements.
     *
     * @return the product of the shape: 1 for a 0-d tensor, 0 if any size is 0
     */
    public long numel() {
        return impl.numel();
    }

    /**
     * Strides in elements (not bytes), one per dimension in (N, C, H, W) order whatever the format:
     * {@code (C*H*W, H*W, W, 1)} contiguous, {@code (H*W*C, 1, W*C, C)} channels-last.
     *
     * @return a new array of strides
     */
    public long[] strides() {
        return impl.strides();
    }

    /**
     * How the elements lie in memory, fixed at creation.
     *
     * @return {@link MemoryFormat#CONTIGUOUS} or {@link MemoryFormat#CHANNELS_LAST}
     */
    public MemoryFormat memoryFormat() {
        return MemoryFormat.valueOf(impl.format().name());
    }

    /**
     * The element type, fixed at creation ({@link #to(DType)} gives a converted copy).
     *
     * @return the dtype
     */
    public DType dtype() {
        return DType.valueOf(impl.dtype().name());
    }

    // ---- data ----------------------------------------------------------------------------------

    /**
     * The elements in logical row-major order, converted to float as PyTorch's {@code tensor.float()} (integers above
     * 2^24 round).
     *
     * @return a new array of {@link #numel()} floats, the caller's
     * @throws IllegalStateException if this tensor is closed or has more elements than a Java array holds
     */
    public float[] toFloatArray() {
        Tracer.access(impl, "toFloatArray");
        return impl.toFloatArray();
    }

    /**
     * The elements in logical row-major order, converted to double (exactly, but for int64 beyond 2^53).
     *
     * @return a new array of {@link #numel()} doubles, the caller's
     * @throws IllegalStateException if this tensor is closed or has more elements than a Java array holds
     */
    public double[] toDoubleArray() {
        Tracer.access(impl, "toDoubleArray");
        return impl.toDoubleArray();
    }

    /**
     * The elements in logical row-major order, of an integer or bool tensor (bool gives 0 or 1).
     *
     * @return a new array of {@link #numel()} longs, the caller's
     * @throws IllegalStateException for a floating-point tensor
     */
    public long[] toLongArray() {
        Tracer.access(impl, "toLongArray");
        return impl.toLongArray();
    }

    /**
     * Copies {@code values}, in logical row-major order, converted to this tensor's dtype as PyTorch's {@code copy_}
     * (to an integer dtype by truncation toward zero).
     *
     * @param values {@link #numel()} elements in logical row-major order, whatever the memory format
     * @throws IllegalArgumentException if {@code values.length} is not {@link #numel()}
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(float[] values) {
        Tracer.access(impl, "copyFrom");
        impl.copyFrom(values);
    }

    /**
     * Copies {@code values}, in logical row-major order, converted to this tensor's dtype.
     *
     * @param values {@link #numel()} elements in logical row-major order
     * @throws IllegalArgumentException if {@code values.length} is not {@link #numel()}
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(long[] values) {
        Tracer.access(impl, "copyFrom");
        impl.copyFrom(values);
    }

    /**
     * Copies a tensor of the same shape (any memory format, any dtype) into this one, converting as PyTorch's
     * {@code copy_}: between floating types by rounding, to integers by truncation toward zero, to bool by
     * {@code != 0}.
     *
     * @param other the source, of this tensor's shape; it stays the caller's, unchanged
     * @throws IllegalArgumentException if the shapes differ
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void copyFrom(Tensor other) {
        Objects.requireNonNull(other, "other");
        impl.ensureWritable();
        if (Tracer.copy(other.impl, impl)) {
            return; // compiling: recorded, not copied
        }
        impl.copyFrom(other.impl);
    }

    /**
     * The element at a logical index (one per dimension, (N, C, H, W) order whatever the format), as a float.
     *
     * @param index one index per dimension; none for a 0-d tensor
     * @return the element, converted as {@link #toFloatArray()} converts
     * @throws IllegalArgumentException if there are not {@link #dim()} indices
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     */
    public float get(long... index) {
        Tracer.access(impl, "get");
        return impl.get(index);
    }

    /**
     * The element at a logical index of an integer or bool tensor.
     *
     * @param index one index per dimension; none for a 0-d tensor
     * @return the element; 0 or 1 for bool
     * @throws IllegalStateException for a floating-point tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     */
    public long getLong(long... index) {
        Tracer.access(impl, "getLong");
        return impl.getLong(index);
    }

    /**
     * Sets the element at a logical index, converted to this tensor's dtype as {@link #copyFrom(float[])} converts.
     *
     * @param value the new value
     * @param index one index per dimension; none for a 0-d tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void set(float value, long... index) {
        Tracer.access(impl, "set");
        impl.set(value, index);
    }

    /**
     * Sets the element at a logical index to an integer (a narrower integer dtype keeps its low bits, bool takes
     * {@code value != 0}, a floating-point one rounds).
     *
     * @param value the new value
     * @param index one index per dimension; none for a 0-d tensor
     * @throws IndexOutOfBoundsException if an index is negative or not below its dimension's size
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public void setLong(long value, long... index) {
        Tracer.access(impl, "setLong");
        impl.setLong(value, index);
    }

    // ---- operations ----------------------------------------------------------------------------

    /**
     * {@code this + other}, as {@code torch.add} without broadcasting (exact IEEE addition on oneDNN).
     *
     * @param other float32, of this tensor's shape, in either memory format
     * @return a new float32 tensor in this tensor's memory format, owned by the caller
     * @throws IllegalArgumentException if the shapes differ or either tensor is not float32
     */
    public Tensor add(Tensor other) {
        return new Tensor(TensorOps.add(impl, Objects.requireNonNull(other, "other").impl));
    }

    /**
     * {@code this += other}, as {@code add_} (a residual connection, without allocating); {@code other} may be this.
     *
     * @param other float32, of this tensor's shape, in either memory format
     * @return this tensor, for chaining (not a new one: do not close it twice)
     * @throws IllegalArgumentException if the shapes differ or either tensor is not float32
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public Tensor add_(Tensor other) {
        TensorOps.addInPlace(impl, Objects.requireNonNull(other, "other").impl);
        return this;
    }

    /**
     * {@code max(this, 0)}, as {@code torch.relu}.
     *
     * @return a new float32 tensor in this tensor's memory format, owned by the caller
     * @throws IllegalArgumentException if this tensor is not float32
     */
    public Tensor relu() {
        return new Tensor(TensorOps.relu(impl));
    }

    /**
     * {@code max(x, 0)} in place, as {@code relu_}.
     *
     * @return this tensor, for chaining (not a new one: do not close it twice)
     * @throws IllegalArgumentException if this tensor is not float32
     * @throws UnsupportedOperationException if this tensor is read-only
     */
    public Tensor relu_() {
        TensorOps.reluInPlace(impl);
        return this;
    }

    /**
     * {@code this * other} with broadcasting, as {@code torch.mul} (a squeeze-excitation's (N, C, 1, 1) scale).
     *
     * @param other float32, broadcasting with this tensor (one of the two has the result's shape)
     * @return a new contiguous float32 tensor, owned by the caller
     */
    public Tensor mul(Tensor other) {
        return new Tensor(TensorOps.mul(impl, Objects.requireNonNull(other, "other").impl));
    }

    /**
     * The matrix product, as {@code torch.matmul} of operands of 2 or more dimensions (batch dimensions broadcast).
     *
     * @param other float32, (*, k, n) for this (*, m, k)
     * @return a new contiguous float32 tensor (*, m, n), owned by the caller
     */
    public Tensor matmul(Tensor other) {
        return new Tensor(TensorOps.matmul(impl, Objects.requireNonNull(other, "other").impl));
    }

    /**
     * Softmax along {@code dim}, as {@code torch.softmax}.
     *
     * @param dim the dimension, negative counting from the end
     * @return a new contiguous float32 tensor of this shape, owned by the caller
     */
    public Tensor softmax(long dim) {
        return new Tensor(TensorOps.softmax(impl, dim));
    }

    /**
     * Concatenation along {@code dim}, as {@code torch.cat}.
     *
     * @param tensors float32 tensors of one shape except along {@code dim}
     * @param dim the dimension, negative counting from the end
     * @return a new contiguous float32 tensor, owned by the caller
     */
    public static Tensor cat(List<Tensor> tensors, long dim) {
        Objects.requireNonNull(tensors, "tensors");
        return new Tensor(TensorOps.cat(tensors.stream().map(t -> t.impl).toList(), dim));
    }

    /**
     * The same values in {@code target} format.
     *
     * @param target the layout of the copy; {@link MemoryFormat#CHANNELS_LAST} needs a 4-D tensor
     * @return a new writable copy, owned by the caller, even when {@code target} is this tensor's format
     * @throws IllegalArgumentException if {@code target} does not fit the shape
     */
    public Tensor toMemoryFormat(MemoryFormat target) {
        return copyInto(empty(dtype(), target, impl.shapeRef()));
    }

    /**
     * The values converted to {@code target} as {@link #copyFrom(Tensor)} converts, as {@code tensor.to(dtype)}.
     *
     * @param target the element type of the copy
     * @return a new copy in this tensor's memory format, owned by the caller
     */
    public Tensor to(DType target) {
        return copyInto(empty(target, memoryFormat(), impl.shapeRef()));
    }

    /** This tensor copied into {@code t} (recorded when compiling), which is closed if copying fails. */
    private Tensor copyInto(Tensor t) {
        try {
            t.copyFrom(this);
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    // ---- views ---------------------------------------------------------------------------------

    /**
     * Another shape over the same memory, as {@code view}: one size may be -1 (inferred). A channels-last tensor can
     * be viewed only where its memory is also row-major (one channel, or 1x1 pixels), else PyTorch's error, which
     * points to {@link #reshape}. The view keeps the memory alive until it is closed too.
     *
     * @param newShape the view's shape, holding {@link #numel()} elements
     * @return a new contiguous tensor over this tensor's memory, to be closed by the caller
     * @throws IllegalArgumentException if {@code newShape} does not hold {@link #numel()} elements
     * @throws IllegalStateException if the memory is not row-major, or this tensor is closed
     */
    public Tensor view(long... newShape) {
        return new Tensor(impl.view(newShape));
    }

    /**
     * Another shape, as {@code reshape}: a view where {@link #view} is possible, else a contiguous copy; write through
     * it only if you know which one you got.
     *
     * @param newShape the new shape, holding {@link #numel()} elements; one size may be -1
     * @return a contiguous tensor, a view or a copy, to be closed by the caller
     * @throws IllegalArgumentException if {@code newShape} does not hold {@link #numel()} elements
     */
    public Tensor reshape(long... newShape) {
        impl.ensureOpen();
        long[] s = impl.inferShape(newShape);
        if (impl.rowMajorInMemory()) {
            return new Tensor(impl.view(s));
        }
        try (Tensor copy = toMemoryFormat(MemoryFormat.CONTIGUOUS)) {
            return new Tensor(copy.impl.view(s));
        }
    }

    /**
     * Dimensions {@code startDim} to the last merged, as {@code torch.flatten(x, startDim)}: {@code flatten(1)} turns
     * (N, C, H, W) into (N, C*H*W); a view or a copy, as {@link #reshape}.
     *
     * @param startDim the first dimension to merge; negative counts from the end
     * @return a contiguous tensor (shape (1) for a 0-d tensor), to be closed by the caller
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
        return reshape(impl.flattenedShape(startDim, endDim));
    }

    // ---- memory --------------------------------------------------------------------------------

    /**
     * The memory itself, for zero-copy interop: {@link #numel()} elements of {@link #dtype()} laid out by
     * {@link #strides()}. Handing out a writable segment counts as a write ({@link #version()} changes, so a layer
     * holding a transformed copy of this tensor refreshes it on its next call); a later write through a kept segment
     * needs {@link #markModified()}. The segment is valid until every tensor over this memory is closed (or collected);
     * after that every access through it throws, never reaching freed memory. Details: docs/memory-and-lifetimes.md.
     *
     * @return the segment over the elements, read-only if {@link #isReadOnly()}; not a copy
     * @throws IllegalStateException if this tensor is closed
     */
    public MemorySegment segment() {
        Tracer.access(impl, "segment");
        return impl.segment();
    }

    /**
     * The memory itself, read-only, for reading without copying (writing a file, handing it to a reader): as
     * {@link #segment()}, with the same lifetime, but without counting as a write.
     *
     * @return a read-only segment over the elements; not a copy
     * @throws IllegalStateException if this tensor is closed
     */
    public MemorySegment readOnlySegment() {
        Tracer.access(impl, "readOnlySegment");
        return impl.readOnlySegment();
    }

    /**
     * Counts writes to this tensor's memory, as PyTorch's {@code _version}: operations that keep a derived
     * copy (Conv2d's weights in oneDNN's layout) compare it to know when to refresh. Shared with views.
     *
     * @return the number of writes recorded so far; only whether it changed means anything
     */
    public long version() {
        return impl.version();
    }

    /**
     * Whether the memory refuses writes (a view of a read-only mapped file: an input or a weight, never an output).
     *
     * @return true if writes through this tensor throw {@link UnsupportedOperationException}
     */
    public boolean isReadOnly() {
        return impl.isReadOnly();
    }

    /**
     * Records a write made without this tensor's methods (through a kept {@link #segment()}, by native code), so that
     * layers holding a transformed copy of this memory refresh it.
     */
    public void markModified() {
        impl.markModified();
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /**
     * Whether this tensor (or the memory under it) has been closed.
     *
     * @return true once closed; every use then throws {@link IllegalStateException}
     */
    public boolean isClosed() {
        return impl.isClosed();
    }

    /**
     * Ends this tensor; the last open tensor over memory the library allocated frees it, once no running operation
     * uses it ({@link #wrap}ped memory stays the caller's). Idempotent.
     */
    @Override
    public void close() {
        impl.close();
    }

    @Override
    public String toString() {
        return impl.toString();
    }
}
