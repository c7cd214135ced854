package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_aBcd16b;
import static dev.onednn4j.bindings.dnnl_h.dnnl_aBcd8b;
import static dev.onednn4j.bindings.dnnl_h.dnnl_blocked;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_kind_any;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_tag_any;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_clone;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_submemory;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_strides;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_tag;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_equal;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_get_size;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_query;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_reshape;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_data_type;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_dims;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_format_kind;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_blks;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_idxs;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_nblks_s32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_ndims_s32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_strides;
import static dev.onednn4j.bindings.dnnl_h.dnnl_success;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

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
    public static MemoryDesc strided(long[] dims, DataType type, long[] strides) {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            String d = type.name().toLowerCase(java.util.Locale.ROOT) + " " + Arrays.toString(dims) + " strides "
                    + Arrays.toString(strides);
            Dnnl.check(
                    dnnl_memory_desc_create_with_strides(
                            p,
                            dims.length,
                            a.allocateFrom(ValueLayout.JAVA_LONG, dims),
                            type.value(),
                            a.allocateFrom(ValueLayout.JAVA_LONG, strides)),
                    "dnnl_memory_desc_create_with_strides",
                    () -> d);
            return new MemoryDesc(p.get(C_POINTER, 0), true, d);
        }
    }

    /** A layout left to the primitive to choose ({@code dnnl_format_tag_any}). */
    public static MemoryDesc any(long[] dims, DataType type) {
        return tagged(dims, type, dnnl_format_tag_any(), "any layout");
    }

    /**
     * A 4-D (N, C, H, W) layout with channels in blocks of {@code block} (8 or 16), each block's channels innermost:
     * {@code aBcd8b} or {@code aBcd16b}, the layouts oneDNN's direct and depthwise AVX2 and AVX-512 kernels read.
     */
    public static MemoryDesc channelBlocked(long[] dims, DataType type, int block) {
        if (dims.length != 4 || (block != 8 && block != 16)) {
            throw new IllegalArgumentException(
                    "channel blocks of 8 or 16 over 4 dims, got " + block + " over " + Arrays.toString(dims));
        }
        return tagged(dims, type, block == 16 ? dnnl_aBcd16b() : dnnl_aBcd8b(), "aBcd" + block + "b");
    }

    private static MemoryDesc tagged(long[] dims, DataType type, int tag, String layout) {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            String d = type.name().toLowerCase(java.util.Locale.ROOT) + " " + Arrays.toString(dims) + " " + layout;
            Dnnl.check(
                    dnnl_memory_desc_create_with_tag(
                            p, dims.length, a.allocateFrom(ValueLayout.JAVA_LONG, dims), type.value(), tag),
                    "dnnl_memory_desc_create_with_tag",
                    () -> d);
            return new MemoryDesc(p.get(C_POINTER, 0), true, d);
        }
    }

    /** A copy of this descriptor that is ours (closed by {@link #close()}), outliving whatever this one belongs to. */
    public MemoryDesc copy() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_memory_desc_clone(p, handle()), "dnnl_memory_desc_clone", () -> description);
            return new MemoryDesc(p.get(C_POINTER, 0), true, description);
        }
    }

    /**
     * The same memory seen with other dims of the same element count (an owned descriptor), as a view; null when
     * the layout cannot be reshaped so (e.g. a blocked dimension split or merged across its block).
     */
    public MemoryDesc reshape(long[] newDims) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            int status = dnnl_memory_desc_reshape(
                    p, handle(), newDims.length, a.allocateFrom(ValueLayout.JAVA_LONG, newDims));
            if (status != dnnl_success()) {
                return null;
            }
            return new MemoryDesc(p.get(C_POINTER, 0), true, description + " as " + Arrays.toString(newDims));
        }
    }

    /**
     * The block of {@code dims} starting at {@code offsets} inside memory of this descriptor (an owned descriptor,
     * its start folded into the descriptor's offset): a slice read or written in place.
     */
    public MemoryDesc submemory(long[] dims, long[] offsets) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            String d = description + " block " + Arrays.toString(dims) + " at " + Arrays.toString(offsets);
            Dnnl.check(
                    dnnl_memory_desc_create_submemory(
                            p,
                            handle(),
                            a.allocateFrom(ValueLayout.JAVA_LONG, dims),
                            a.allocateFrom(ValueLayout.JAVA_LONG, offsets)),
                    "dnnl_memory_desc_create_submemory",
                    () -> d);
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

    /**
     * Whether memory laid out as this can be read as {@code other} without a copy: the same layout, or the same
     * bytes seen with other dims ({@code [1, 64, 3, 49, 49]} row-major as {@code [64, 3, 2401]}).
     */
    public boolean sameBytesAs(MemoryDesc other) {
        if (sameAs(other)) {
            return true;
        }
        if (Arrays.equals(dims(), other.dims())) {
            return false;
        }
        try (MemoryDesc v = reshape(other.dims())) {
            return v != null && v.sameAs(other);
        }
    }

    /** The element type. */
    public DataType dataType() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_data_type(), t), "dnnl_memory_desc_query");
            int v = t.get(ValueLayout.JAVA_INT, 0);
            for (DataType d : DataType.values()) {
                if (d.value() == v) {
                    return d;
                }
            }
            throw new IllegalStateException("unknown oneDNN data type " + v + " in " + description);
        }
    }

    /** The dims. */
    public long[] dims() {
        try (Arena a = Arena.ofConfined()) {
            int n = ndims(a);
            return dimsQuery(a, dnnl_query_dims(), n);
        }
    }

    /**
     * The strides (in elements) of a plain layout (blocked format with no inner blocks), or null for any other
     * (blocked like {@code aBcd16b}, {@code any}, opaque).
     */
    public long[] strides() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kind = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_format_kind(), kind), "dnnl_memory_desc_query");
            if (kind.get(ValueLayout.JAVA_INT, 0) != dnnl_blocked()) {
                return null;
            }
            MemorySegment nb = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_inner_nblks_s32(), nb), "dnnl_memory_desc_query");
            if (nb.get(ValueLayout.JAVA_INT, 0) != 0) {
                return null;
            }
            return dimsQuery(a, dnnl_query_strides(), ndims(a));
        }
    }

    /**
     * The layout as oneDNN's verbose output names it: dims ordered from outermost to innermost, a capital letter
     * for a blocked dim and its block after, e.g. {@code abcd} (NCHW), {@code acdb} (NHWC), {@code aBcd8b} (NCHW
     * with channels in blocks of 8); {@code any} before a primitive chose, {@code opaque} for layouts without a
     * name.
     */
    public String layout() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kind = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_format_kind(), kind), "dnnl_memory_desc_query");
            int k = kind.get(ValueLayout.JAVA_INT, 0);
            if (k == dnnl_format_kind_any()) {
                return "any";
            }
            if (k != dnnl_blocked()) {
                return "opaque";
            }
            int n = ndims(a);
            long[] strides = dimsQuery(a, dnnl_query_strides(), n);
            MemorySegment nb = a.allocate(ValueLayout.JAVA_INT);
            Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_inner_nblks_s32(), nb), "dnnl_memory_desc_query");
            int blocks = nb.get(ValueLayout.JAVA_INT, 0);
            long[] sizes = blocks == 0 ? new long[0] : dimsQuery(a, dnnl_query_inner_blks(), blocks);
            long[] idxs = blocks == 0 ? new long[0] : dimsQuery(a, dnnl_query_inner_idxs(), blocks);
            boolean[] blocked = new boolean[n];
            for (long i : idxs) {
                blocked[(int) i] = true;
            }
            StringBuilder s = new StringBuilder();
            IntStream.range(0, n)
                    .boxed()
                    .sorted(Comparator.comparingLong((Integer i) -> -strides[i]).thenComparingInt(i -> i))
                    .forEach(i -> {
                        char c = (char) ('a' + i);
                        s.append(blocked[i] ? Character.toUpperCase(c) : c);
                    });
            for (int b = 0; b < blocks; b++) {
                s.append(sizes[b]).append((char) ('a' + idxs[b]));
            }
            return s.toString();
        }
    }

    private int ndims(Arena a) {
        MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
        Dnnl.check(dnnl_memory_desc_query(handle(), dnnl_query_ndims_s32(), n), "dnnl_memory_desc_query");
        return n.get(ValueLayout.JAVA_INT, 0);
    }

    /** A query whose result is a pointer to a {@code dnnl_dims_t} owned by the descriptor. */
    private long[] dimsQuery(Arena a, int what, int count) {
        MemorySegment p = a.allocate(C_POINTER);
        Dnnl.check(dnnl_memory_desc_query(handle(), what, p), "dnnl_memory_desc_query");
        MemorySegment dims = p.get(C_POINTER, 0).reinterpret(8L * count);
        return dims.toArray(ValueLayout.JAVA_LONG);
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
