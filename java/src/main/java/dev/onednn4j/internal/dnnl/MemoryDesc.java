package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_tag_any;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_strides;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_tag;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_equal;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_get_size;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A memory descriptor: dims, data type and layout. One we create is ours and destroyed by
 * {@link #close()}; one returned by a query belongs to its primitive descriptor ({@link #borrowed}) and
 * closing it does nothing.
 */
public final class MemoryDesc implements AutoCloseable {
    private final MemorySegment handle;
    private final boolean owned;
    private final String description;
    private boolean closed;

    private MemoryDesc(MemorySegment handle, boolean owned, String description) {
        this.handle = handle;
        this.owned = owned;
        this.description = description;
    }

    /** A plain layout given by strides (in elements), e.g. NCHW or NHWC. */
    public static MemoryDesc ofStrides(long[] dims, int dataType, long[] strides) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            String d = "dims " + Arrays.toString(dims) + " strides " + Arrays.toString(strides);
            Dnnl.check(dnnl_memory_desc_create_with_strides(p, dims.length, a.allocateFrom(ValueLayout.JAVA_LONG, dims),
                    dataType, a.allocateFrom(ValueLayout.JAVA_LONG, strides)), "dnnl_memory_desc_create_with_strides",
                    () -> d);
            return new MemoryDesc(p.get(C_POINTER, 0), true, d);
        }
    }

    /** A layout named by a format tag; {@code dnnl_format_tag_any} lets a primitive choose. */
    public static MemoryDesc ofTag(long[] dims, int dataType, int tag) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            String d = "dims " + Arrays.toString(dims) + (tag == dnnl_format_tag_any() ? " any layout" : " tag " + tag);
            Dnnl.check(dnnl_memory_desc_create_with_tag(p, dims.length, a.allocateFrom(ValueLayout.JAVA_LONG, dims),
                    dataType, tag), "dnnl_memory_desc_create_with_tag", () -> d);
            return new MemoryDesc(p.get(C_POINTER, 0), true, d);
        }
    }

    static MemoryDesc borrowed(MemorySegment handle, String description) {
        return new MemoryDesc(handle, false, description);
    }

    MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("memory descriptor (" + description + ") is closed");
        }
        return handle;
    }

    /** Bytes a buffer of this descriptor needs. */
    public long byteSize() {
        return dnnl_memory_desc_get_size(handle());
    }

    /** Whether both describe the same dims, type and layout. */
    public boolean sameAs(MemoryDesc other) {
        return dnnl_memory_desc_equal(handle(), other.handle()) == 1;
    }

    @Override
    public String toString() {
        return description;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (owned) {
                Dnnl.check(dnnl_memory_desc_destroy(handle), "dnnl_memory_desc_destroy", () -> description);
            }
        }
    }
}
