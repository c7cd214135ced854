package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_data_type_undef;
import static dev.onednn4j.bindings.dnnl_h.dnnl_post_ops_append_binary;
import static dev.onednn4j.bindings.dnnl_h.dnnl_post_ops_append_eltwise;
import static dev.onednn4j.bindings.dnnl_h.dnnl_post_ops_append_sum;
import static dev.onednn4j.bindings.dnnl_h.dnnl_post_ops_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_post_ops_len;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A chain of operations oneDNN applies to a primitive's result before writing it (fusion): eltwise (an
 * activation), sum (add what the destination already holds: a residual connection) and binary (combine with
 * another tensor, broadcast). {@link PrimitiveAttr#postOps} copies the chain: close it right after.
 */
public final class PostOps extends NativeHandle {
    private final List<String> steps = new ArrayList<>();

    private PostOps(MemorySegment handle) {
        super(handle, "dnnl_post_ops_destroy", dnnl_h::dnnl_post_ops_destroy);
    }

    public static PostOps create() {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_post_ops_create(p), "dnnl_post_ops_create");
            return new PostOps(p.get(C_POINTER, 0));
        }
    }

    /** Appends an element-wise operation (oneDNN's alpha and beta; see {@link Algorithm}). */
    public PostOps eltwise(Algorithm alg, float alpha, float beta) {
        Dnnl.check(
                dnnl_post_ops_append_eltwise(handle(), alg.value(), alpha, beta),
                "dnnl_post_ops_append_eltwise",
                () -> alg + " alpha " + alpha + " beta " + beta);
        steps.add(alg.name().toLowerCase(java.util.Locale.ROOT)
                + (alpha == 0 && beta == 0 ? "" : "(" + alpha + ", " + beta + ")"));
        return this;
    }

    /** Appends {@code dst = scale * dst_before + result}: the destination's old content is added. */
    public PostOps sum(float scale) {
        Dnnl.check(
                dnnl_post_ops_append_sum(handle(), scale, 0, dnnl_data_type_undef()),
                "dnnl_post_ops_append_sum",
                () -> "scale " + scale);
        steps.add(scale == 1 ? "sum" : "sum(" + scale + ")");
        return this;
    }

    /**
     * Appends {@code dst = scale * dst_before + result} where the destination's old content, of integer type
     * {@code type}, is read as integers: with {@code scale} the quantization step it was written with, the sum is in
     * real units.
     */
    public PostOps sum(float scale, DataType type) {
        return sum(scale, 0, type);
    }

    /**
     * As {@link #sum(float, DataType)}, the destination's old integers read as {@code (q - zeroPoint)}: {@code dst =
     * scale * (dst_before - zeroPoint) + result}.
     */
    public PostOps sum(float scale, int zeroPoint, DataType type) {
        Dnnl.check(
                dnnl_post_ops_append_sum(handle(), scale, zeroPoint, type.value()),
                "dnnl_post_ops_append_sum",
                () -> "scale " + scale + " zero point " + zeroPoint + " type " + type);
        steps.add("sum(" + scale + (zeroPoint == 0 ? "" : ", zero point " + zeroPoint) + ", "
                + type.name().toLowerCase(java.util.Locale.ROOT) + ")");
        return this;
    }

    /**
     * Appends {@code dst = alg(result, src_1)} where src_1, described by {@code src1}, is passed at execution as
     * {@link Arg#postOpSrc1} of this post-op's position and may broadcast (dims of 1).
     */
    public PostOps binary(Algorithm alg, MemoryDesc src1) {
        Dnnl.check(
                dnnl_post_ops_append_binary(handle(), alg.value(), src1.handle()),
                "dnnl_post_ops_append_binary",
                () -> alg + " with " + src1);
        steps.add(alg.name().toLowerCase(java.util.Locale.ROOT) + "(" + src1 + ")");
        return this;
    }

    /** Number of post-ops in the chain. */
    public int length() {
        return dnnl_post_ops_len(handle());
    }

    @Override
    public String toString() {
        return String.join(" + ", steps);
    }
}
