package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_direct;
import static dev.onednn4j.bindings.dnnl_h.dnnl_forward_inference;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_dst_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_impl_info_str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_scratchpad_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_src_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_weights_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_reorder_primitive_desc_create;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A primitive descriptor: what oneDNN chose for an operation. Queried descriptors belong to it and
 * must not be used after {@link #close()}.
 */
public final class PrimitiveDesc extends NativeHandle {
    private final String description;

    private PrimitiveDesc(MemorySegment handle, String description) {
        super(handle, "dnnl_primitive_desc_destroy", dnnl_h::dnnl_primitive_desc_destroy);
        this.description = description;
    }

    /**
     * A forward-inference direct convolution.
     *
     * @param bias      null for none
     * @param dilation  oneDNN's convention: 0 means none (PyTorch's dilation - 1)
     */
    public static PrimitiveDesc convolution(Engine engine, MemoryDesc src, MemoryDesc weights, MemoryDesc bias,
                                            MemoryDesc dst, long[] stride, long[] dilation, long[] padL, long[] padR,
                                            PrimitiveAttr attr) {
        String d = String.format(java.util.Locale.ROOT,
                "convolution src %s, weights %s, dst %s, stride %s, dilation %s (oneDNN: 0 = none), "
                        + "padding_l %s, padding_r %s", src, weights, dst, Arrays.toString(stride),
                Arrays.toString(dilation), Arrays.toString(padL), Arrays.toString(padR));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dev.onednn4j.bindings.dnnl_h.dnnl_convolution_forward_primitive_desc_create(p, engine.handle(),
                    dnnl_forward_inference(), dnnl_convolution_direct(), src.handle(), weights.handle(),
                    bias == null ? MemorySegment.NULL : bias.handle(), dst.handle(),
                    a.allocateFrom(ValueLayout.JAVA_LONG, stride), a.allocateFrom(ValueLayout.JAVA_LONG, dilation),
                    a.allocateFrom(ValueLayout.JAVA_LONG, padL), a.allocateFrom(ValueLayout.JAVA_LONG, padR),
                    attr == null ? MemorySegment.NULL : attr.handle()),
                    "dnnl_convolution_forward_primitive_desc_create", () -> d);
            return new PrimitiveDesc(p.get(C_POINTER, 0), d);
        }
    }

    /** A reorder (layout change) from {@code from} to {@code to}. */
    public static PrimitiveDesc reorder(Engine engine, MemoryDesc from, MemoryDesc to, PrimitiveAttr attr) {
        String d = "reorder from " + from + " to " + to;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_reorder_primitive_desc_create(p, from.handle(), engine.handle(), to.handle(),
                    engine.handle(), attr == null ? MemorySegment.NULL : attr.handle()),
                    "dnnl_reorder_primitive_desc_create", () -> d);
            return new PrimitiveDesc(p.get(C_POINTER, 0), d);
        }
    }

    public MemoryDesc srcDesc() {
        return query(dnnl_query_src_md(), "src");
    }

    public MemoryDesc weightsDesc() {
        return query(dnnl_query_weights_md(), "weights");
    }

    public MemoryDesc dstDesc() {
        return query(dnnl_query_dst_md(), "dst");
    }

    public MemoryDesc scratchpadDesc() {
        return query(dnnl_query_scratchpad_md(), "scratchpad");
    }

    private MemoryDesc query(int what, String name) {
        MemorySegment md = dnnl_primitive_desc_query_md(handle(), what, 0);
        if (md.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("no " + name + " descriptor in " + description);
        }
        return MemoryDesc.borrowed(md, name + " layout chosen by oneDNN for " + description);
    }

    /** The implementation oneDNN picked, e.g. {@code brg_conv_fwd:avx512_core}. */
    public String implementation() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_primitive_desc_query(handle(), dnnl_query_impl_info_str(), 0, p),
                    "dnnl_primitive_desc_query", () -> "impl_info_str of " + description);
            return p.get(C_POINTER, 0).getString(0);
        }
    }

    @Override
    public String toString() {
        return description;
    }
}
