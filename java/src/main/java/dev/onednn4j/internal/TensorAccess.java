package dev.onednn4j.internal;

import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the library's own layers need of a {@link Tensor} beyond its public API: pinning its memory for
 * the duration of a native call. Tensor installs the implementation; users never see it.
 */
public interface TensorAccess {

    /**
     * Keeps the tensor's memory from being freed until {@link #unpin}; throws {@link IllegalStateException}
     * if it is already closed. Returns the stamp to unpin with. Allocates nothing.
     */
    long pin(Tensor t);

    /** Releases a pin. */
    void unpin(Tensor t, long stamp);

    /** The tensor's memory, for code that holds a pin. */
    MemorySegment data(Tensor t);

    /** The tensor's shape itself, not a copy: read it, never write it. For allocation-free lookups. */
    long[] shape(Tensor t);

    /**
     * A contiguous uint8 tensor of {@code shape} bytes that owns {@code data}, a mapping of {@code file} that lives
     * in {@code arena}: closing the tensor (once no running operation pins it) closes the arena. The tensor, its
     * views and whatever wraps their memory are file-backed (see {@link #fileBacked}).
     */
    Tensor adopt(Arena arena, MemorySegment data, String file, long... shape);

    /**
     * A contiguous view of {@code shape} elements of {@code dtype} starting {@code byteOffset} bytes into
     * {@code base}'s memory (aligned to the dtype's size), sharing its lifetime: closing the base ends the view.
     */
    Tensor view(Tensor base, long byteOffset, DType dtype, long... shape);

    /**
     * A tensor over the same memory, shape and format as {@code t} that does not own it: closing the alias
     * never frees {@code t}'s memory. What a layer that passes its input through (Identity, Dropout in eval)
     * returns, since the caller owns every result.
     */
    Tensor alias(Tensor t);

    /**
     * Whether the tensor's memory maps a file. Native code must never read such memory: if the file shrinks, the
     * read is a SIGBUS that kills the JVM, where a Java access gets an exception. Read a {@link #stage} copy instead.
     */
    boolean fileBacked(Tensor t);

    /**
     * A copy of {@code t} (same shape, format and dtype) in memory the library owns, read in Java, which the caller
     * closes. A fault reading a truncated file becomes an {@link java.io.UncheckedIOException} naming the file.
     */
    Tensor stage(Tensor t);

    /**
     * Copies a {@link #stage} copy back into {@code t} (which the caller has pinned), in Java; a fault writing a
     * truncated file becomes an {@link java.io.UncheckedIOException} naming the file.
     */
    void unstage(Tensor copy, Tensor t);

    /** Whether any byte of {@code a}'s memory is a byte of {@code b}'s; by address, allocating nothing. */
    boolean overlaps(Tensor a, Tensor b);

    /**
     * Whether {@code a} and {@code b} are the same elements of the same memory (same address, shape, dtype and
     * format): an operation that can run in place may write one while reading the other.
     */
    boolean sameElements(Tensor a, Tensor b);

    /**
     * PyTorch's refusal of an output that shares memory with what the operation reads ({@code detail} says which),
     * worded as PyTorch's {@code assert_no_partial_overlap}.
     */
    static IllegalArgumentException overlapError(String detail) {
        return new IllegalArgumentException("unsupported operation: some elements of the input tensor and the "
                + "written-to tensor refer to a single memory location. Please clone() the tensor before performing "
                + "the operation. (" + detail + ")");
    }

    static TensorAccess get() {
        return Holder.access;
    }

    static void install(TensorAccess access) {
        if (Holder.access != null) {
            throw new IllegalStateException("TensorAccess installed twice");
        }
        Holder.access = access;
    }

    /** Set once by Tensor's static initialiser. */
    final class Holder {
        static TensorAccess access;

        static {
            try {
                Class.forName(Tensor.class.getName(), true, Tensor.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private Holder() {}
    }
}
