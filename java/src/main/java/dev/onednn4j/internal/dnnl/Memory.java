package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.DNNL_MEMORY_ALLOCATE;
import static dev.onednn4j.bindings.dnnl_h.DNNL_MEMORY_NONE;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_get_data_handle;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_set_data_handle;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A memory object. Made {@link #over} a buffer it does not own (zero copy), the buffer must stay alive while
 * the memory object is used, and {@link #bind} points it at another buffer cheaply (not thread-safe). Made by
 * {@link #allocate}, oneDNN owns the buffer and frees it with the memory object.
 */
public final class Memory extends NativeHandle {
    private final long byteSize;
    /** The address last bound, so that rebinding the same buffer costs no native call. */
    private long boundAddress;

    private Memory(MemorySegment handle, long byteSize) {
        super(handle, "dnnl_memory_destroy", dnnl_h::dnnl_memory_destroy);
        this.byteSize = byteSize;
    }

    /** A memory object with no buffer yet; {@link #bind} gives it one. */
    public static Memory unbound(MemoryDesc md, Engine engine) {
        return create(md, engine, DNNL_MEMORY_NONE());
    }

    /** A memory object with a buffer of its own, allocated (64-byte aligned) and freed by oneDNN. */
    public static Memory allocate(MemoryDesc md, Engine engine) {
        Memory m = create(md, engine, DNNL_MEMORY_ALLOCATE());
        m.boundAddress = m.data().address();
        return m;
    }

    public static Memory over(MemoryDesc md, Engine engine, MemorySegment buffer) {
        Memory m = create(md, engine, buffer);
        m.boundAddress = buffer.address();
        if (buffer.byteSize() < m.byteSize) {
            m.close();
            throw new IllegalArgumentException(
                    "buffer of " + buffer.byteSize() + " bytes is smaller than the " + m.byteSize + " bytes of " + md);
        }
        return m;
    }

    /**
     * A memory object of {@code md} over bytes {@code [offset, offset + md.byteSize())} of {@code slab}'s buffer,
     * which must outlive it: many tensors planned into one allocation.
     */
    public static Memory within(Memory slab, long offset, MemoryDesc md, Engine engine) {
        return over(md, engine, slab.data().asSlice(offset, md.byteSize()));
    }

    /** A buffer of {@code bytes} bytes (64-byte aligned), allocated and freed by oneDNN, to place others in. */
    public static Memory slab(long bytes, Engine engine) {
        try (MemoryDesc md = MemoryDesc.strided(new long[] {Math.max(bytes, 1)}, DataType.U8, new long[] {1})) {
            return allocate(md, engine);
        }
    }

    private static Memory create(MemoryDesc md, Engine engine, MemorySegment buffer) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_memory_create(p, md.handle(), engine.handle(), buffer), "dnnl_memory_create", md::toString);
            return new Memory(p.get(C_POINTER, 0), md.byteSize());
        }
    }

    /**
     * Points this memory object at {@code buffer}, which must hold at least {@link #byteSize()} bytes.
     * Binding the buffer it already points at does nothing (no native call).
     */
    public void bind(MemorySegment buffer) {
        if (buffer.byteSize() < byteSize) {
            throw new IllegalArgumentException("buffer of " + buffer.byteSize() + " bytes, need " + byteSize);
        }
        long address = buffer.address();
        if (address != boundAddress || address == 0) {
            Dnnl.check(dnnl_memory_set_data_handle(handle(), buffer), "dnnl_memory_set_data_handle");
            boundAddress = address;
        }
    }

    /**
     * Points this memory object at {@code offset} bytes into workspace {@code w}, which must hold
     * {@link #byteSize()} bytes from there. Allocates nothing and makes no native call when it already points there.
     */
    public void bindAt(Workspace w, long offset) {
        if (offset < 0 || offset > w.size() - byteSize) {
            throw new IllegalArgumentException(
                    byteSize + " bytes at offset " + offset + " do not fit a workspace of " + w.size() + " bytes");
        }
        long address = w.memory().address() + offset;
        if (address != boundAddress) {
            Dnnl.check(
                    dnnl_memory_set_data_handle(handle(), MemorySegment.ofAddress(address)),
                    "dnnl_memory_set_data_handle");
            boundAddress = address;
        }
    }

    /** The buffer this memory object points at, {@link #byteSize()} bytes; valid while it is bound and alive. */
    public MemorySegment data() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_memory_get_data_handle(handle(), p), "dnnl_memory_get_data_handle");
            return p.get(C_POINTER, 0).reinterpret(byteSize);
        }
    }

    public long byteSize() {
        return byteSize;
    }

    /** The buffer's content read as float32 values (a float32 memory), in the order they lie. */
    public float[] readFloats() {
        return data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
    }

    /** Sets every byte of the buffer to zero (e.g. before timing a primitive on it: no denormals, no NaN). */
    public void zero() {
        data().fill((byte) 0);
    }

    MemorySegment raw() {
        return handle();
    }
}
