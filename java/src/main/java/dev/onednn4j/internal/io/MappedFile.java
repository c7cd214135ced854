package dev.onednn4j.internal.io;

import dev.onednn4j.internal.memory.ElementType;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file memory-mapped read-only into a shared arena, read little-endian at any offset, and able to
 * lend float32 views of itself as tensors. The mapping is owned by a tensor spanning the file: closing this
 * closes that tensor, which unmaps the file once no running operation uses any of its views.
 */
public final class MappedFile implements AutoCloseable {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment file;
    private final TensorImpl owner;
    private final Path path;

    private MappedFile(MemorySegment file, TensorImpl owner, Path path) {
        this.file = file;
        this.owner = owner;
        this.path = path;
    }

    /** Maps the whole file read-only. */
    public static MappedFile map(Path path) throws IOException {
        @SuppressWarnings("MustBeClosedChecker") // the owner tensor closes the arena, unmapping the file
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment file = size == 0
                    ? MemorySegment.NULL.reinterpret(0)
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new MappedFile(file, TensorImpl.adopt(arena, file, path.toString(), size), path);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public long size() {
        return file.byteSize();
    }

    public long int64(long offset) {
        try {
            return file.get(I64, offset);
        } catch (InternalError e) {
            throw truncated(e);
        }
    }

    public float float32(long offset) {
        try {
            return file.get(F32, offset);
        } catch (InternalError e) {
            throw truncated(e);
        }
    }

    /** An unsigned 16-bit value (a float16 or bfloat16's bits). */
    public int uint16(long offset) {
        try {
            return file.get(U16, offset) & 0xffff;
        } catch (InternalError e) {
            throw truncated(e);
        }
    }

    public double float64(long offset) {
        try {
            return file.get(F64, offset);
        } catch (InternalError e) {
            throw truncated(e);
        }
    }

    /**
     * The exception for a fault reading the mapping: the JVM turns an access to a page that the file no longer has
     * (another process truncated it) into an {@link InternalError}.
     */
    private UncheckedIOException truncated(InternalError e) {
        return new UncheckedIOException(new IOException(
                path + " was truncated or became unreadable after it was mapped (" + e.getMessage() + ")", e));
    }

    /** A read-only view of {@code length} bytes, valid while the file is mapped. */
    public ByteBuffer bytes(long offset, long length) {
        return file.asSlice(offset, length).asByteBuffer();
    }

    /**
     * The tensor of {@code dtype} and {@code shape} stored little-endian at {@code offset}: a zero-copy, read-only
     * view that lives as long as the mapping where the offset is aligned to the dtype's size, else a copy that the
     * caller owns (files from other writers may be unaligned).
     */
    public TensorImpl tensor(long offset, ElementType dtype, long... shape) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException(
                    "safetensors data is little-endian; this platform is " + ByteOrder.nativeOrder());
        }
        if ((file.address() + offset) % dtype.byteSize() == 0) {
            return owner.view(offset, dtype, shape);
        }
        TensorImpl copy = TensorImpl.zeros(dtype, Format.CONTIGUOUS, shape);
        try {
            MemorySegment.copy(file, offset, copy.data(), 0, copy.numel() * dtype.byteSize());
        } catch (InternalError e) {
            copy.close();
            throw truncated(e);
        } catch (RuntimeException | Error e) {
            copy.close();
            throw e;
        }
        copy.markModified();
        return copy;
    }

    @Override
    public void close() {
        owner.close();
    }
}
