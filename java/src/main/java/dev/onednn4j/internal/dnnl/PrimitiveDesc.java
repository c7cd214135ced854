package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_batch_normalization_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_binary_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_concat_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_deconvolution_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_eltwise_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_forward_inference;
import static dev.onednn4j.bindings.dnnl_h.dnnl_fuse_norm_relu;
import static dev.onednn4j.bindings.dnnl_h.dnnl_inner_product_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_last_impl_reached;
import static dev.onednn4j.bindings.dnnl_h.dnnl_layer_normalization_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_matmul_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_pooling_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_next_impl;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_exec_arg_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_impl_info_str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_scratchpad_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_reduction_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_reorder_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_resampling_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_softmax_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_use_global_stats;
import static dev.onednn4j.bindings.dnnl_h.dnnl_use_scale;
import static dev.onednn4j.bindings.dnnl_h.dnnl_use_shift;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;

/**
 * A primitive descriptor: what oneDNN chose for an operation. Every factory creates a forward-inference
 * descriptor. Queried descriptors belong to it and must not be used after {@link #close()}.
 */
public final class PrimitiveDesc extends NativeHandle {
    private final String description;

    private PrimitiveDesc(MemorySegment handle, String description) {
        super(handle, "dnnl_primitive_desc_destroy", dnnl_h::dnnl_primitive_desc_destroy);
        this.description = description;
    }

    /** One {@code dnnl_*_primitive_desc_create} call: fills {@code out}, returns the status. */
    @FunctionalInterface
    private interface Create {
        int call(MemorySegment out, Arena arena);
    }

    private static PrimitiveDesc create(String call, String description, Create create) {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(create.call(p, a), call, () -> description);
            return new PrimitiveDesc(p.get(C_POINTER, 0), description);
        }
    }

    private static MemorySegment dims(Arena a, long[] values) {
        return a.allocateFrom(ValueLayout.JAVA_LONG, values);
    }

    private static MemorySegment orNull(MemoryDesc md) {
        return md == null ? MemorySegment.NULL : md.handle();
    }

    private static MemorySegment orNull(PrimitiveAttr attr) {
        return attr == null ? MemorySegment.NULL : attr.handle();
    }

    /**
     * A direct convolution.
     *
     * @param bias     null for none
     * @param dilation oneDNN's convention: 0 means none (PyTorch's dilation - 1)
     */
    public static PrimitiveDesc convolution(
            Engine engine,
            MemoryDesc src,
            MemoryDesc weights,
            MemoryDesc bias,
            MemoryDesc dst,
            long[] stride,
            long[] dilation,
            long[] padL,
            long[] padR,
            PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "convolution src %s, weights %s, dst %s, stride %s, dilation %s "
                        + "(oneDNN: 0 = none), padding_l %s, padding_r %s%s",
                src,
                weights,
                dst,
                Arrays.toString(stride),
                Arrays.toString(dilation),
                Arrays.toString(padL),
                Arrays.toString(padR),
                attrText(attr));
        return create(
                "dnnl_convolution_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_convolution_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        Algorithm.CONVOLUTION_DIRECT.value(),
                        src.handle(),
                        weights.handle(),
                        orNull(bias),
                        dst.handle(),
                        dims(a, stride),
                        dims(a, dilation),
                        dims(a, padL),
                        dims(a, padR),
                        orNull(attr)));
    }

    /**
     * Batch normalization for inference. With {@code globalStats} it normalizes with the given mean and variance
     * (PyTorch's running statistics), else with the batch's own; with {@code fuseRelu}, {@code max(y, 0)} in the
     * same pass ({@code dnnl_fuse_norm_relu}).
     */
    public static PrimitiveDesc batchNormalization(
            Engine engine,
            MemoryDesc src,
            MemoryDesc dst,
            float epsilon,
            boolean globalStats,
            boolean scaleAndShift,
            boolean fuseRelu,
            PrimitiveAttr attr) {
        int flags = (globalStats ? dnnl_use_global_stats() : 0)
                | (scaleAndShift ? dnnl_use_scale() | dnnl_use_shift() : 0)
                | (fuseRelu ? dnnl_fuse_norm_relu() : 0);
        String d = String.format(
                Locale.ROOT,
                "batch normalization src %s, dst %s, eps %s, %s statistics%s%s%s",
                src,
                dst,
                epsilon,
                globalStats ? "global" : "batch",
                scaleAndShift ? ", scale and shift" : "",
                fuseRelu ? ", relu fused" : "",
                attrText(attr));
        return create(
                "dnnl_batch_normalization_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_batch_normalization_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        src.handle(),
                        dst.handle(),
                        epsilon,
                        flags,
                        orNull(attr)));
    }

    /** An element-wise operation ({@link Algorithm}'s alpha and beta). */
    public static PrimitiveDesc eltwise(
            Engine engine, Algorithm alg, MemoryDesc src, MemoryDesc dst, float alpha, float beta, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "eltwise %s alpha %s beta %s, src %s, dst %s%s",
                alg,
                alpha,
                beta,
                src,
                dst,
                attrText(attr));
        return create(
                "dnnl_eltwise_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_eltwise_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        alg.value(),
                        src.handle(),
                        dst.handle(),
                        alpha,
                        beta,
                        orNull(attr)));
    }

    /**
     * Max or average pooling.
     *
     * @param dilation oneDNN's convention: 0 means none (PyTorch's dilation - 1)
     */
    public static PrimitiveDesc pooling(
            Engine engine,
            Algorithm alg,
            MemoryDesc src,
            MemoryDesc dst,
            long[] stride,
            long[] kernel,
            long[] dilation,
            long[] padL,
            long[] padR,
            PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "pooling %s src %s, dst %s, kernel %s, stride %s, dilation %s (oneDNN: 0 "
                        + "= none), padding_l %s, padding_r %s%s",
                alg,
                src,
                dst,
                Arrays.toString(kernel),
                Arrays.toString(stride),
                Arrays.toString(dilation),
                Arrays.toString(padL),
                Arrays.toString(padR),
                attrText(attr));
        return create(
                "dnnl_pooling_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_pooling_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        alg.value(),
                        src.handle(),
                        dst.handle(),
                        dims(a, stride),
                        dims(a, kernel),
                        dims(a, dilation),
                        dims(a, padL),
                        dims(a, padR),
                        orNull(attr)));
    }

    /** An inner product (a fully connected layer): {@code dst = src * weights^T + bias}. */
    public static PrimitiveDesc innerProduct(
            Engine engine, MemoryDesc src, MemoryDesc weights, MemoryDesc bias, MemoryDesc dst, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "inner product src %s, weights %s, bias %s, dst %s%s",
                src,
                weights,
                bias,
                dst,
                attrText(attr));
        return create(
                "dnnl_inner_product_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_inner_product_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        src.handle(),
                        weights.handle(),
                        orNull(bias),
                        dst.handle(),
                        orNull(attr)));
    }

    /** A matrix multiplication {@code dst = src x weights (+ bias)}, batched and broadcast over leading dims. */
    public static PrimitiveDesc matmul(
            Engine engine, MemoryDesc src, MemoryDesc weights, MemoryDesc bias, MemoryDesc dst, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT, "matmul src %s, weights %s, bias %s, dst %s%s", src, weights, bias, dst, attrText(attr));
        return create(
                "dnnl_matmul_primitive_desc_create",
                d,
                (p, a) -> dnnl_matmul_primitive_desc_create(
                        p, engine.handle(), src.handle(), weights.handle(), orNull(bias), dst.handle(), orNull(attr)));
    }

    /** An element-wise binary operation {@code dst = alg(src0, src1)}; src1 may broadcast. */
    public static PrimitiveDesc binary(
            Engine engine, Algorithm alg, MemoryDesc src0, MemoryDesc src1, MemoryDesc dst, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT, "binary %s src0 %s, src1 %s, dst %s%s", alg, src0, src1, dst, attrText(attr));
        return create(
                "dnnl_binary_primitive_desc_create",
                d,
                (p, a) -> dnnl_binary_primitive_desc_create(
                        p, engine.handle(), alg.value(), src0.handle(), src1.handle(), dst.handle(), orNull(attr)));
    }

    /** Concatenation of {@code srcs} along {@code axis} into {@code dst} (which may be {@code any}). */
    public static PrimitiveDesc concat(Engine engine, MemoryDesc dst, int axis, MemoryDesc[] srcs, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT, "concat axis %d of %s into %s%s", axis, Arrays.toString(srcs), dst, attrText(attr));
        return create("dnnl_concat_primitive_desc_create", d, (p, a) -> {
            MemorySegment list = a.allocate(C_POINTER, srcs.length);
            for (int i = 0; i < srcs.length; i++) {
                list.setAtIndex(C_POINTER, i, srcs[i].handle());
            }
            return dnnl_concat_primitive_desc_create(
                    p, engine.handle(), orNull(dst), srcs.length, axis, list, orNull(attr));
        });
    }

    /** Softmax along {@code axis}, computed with the maximum subtracted first. */
    public static PrimitiveDesc softmax(Engine engine, MemoryDesc src, MemoryDesc dst, int axis, PrimitiveAttr attr) {
        String d = String.format(Locale.ROOT, "softmax axis %d, src %s, dst %s%s", axis, src, dst, attrText(attr));
        return create(
                "dnnl_softmax_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_softmax_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        Algorithm.SOFTMAX_ACCURATE.value(),
                        src.handle(),
                        dst.handle(),
                        axis,
                        orNull(attr)));
    }

    /**
     * Layer normalization over the last dimension, with its own statistics; with {@code scaleAndShift} it then
     * applies per-element scale and shift (ARG_SCALE, ARG_SHIFT, f32 of the last dimension).
     */
    public static PrimitiveDesc layerNormalization(
            Engine engine, MemoryDesc src, MemoryDesc dst, float epsilon, boolean scaleAndShift, PrimitiveAttr attr) {
        int flags = scaleAndShift ? dnnl_use_scale() | dnnl_use_shift() : 0;
        String d = String.format(
                Locale.ROOT,
                "layer normalization src %s, dst %s, eps %s%s%s",
                src,
                dst,
                epsilon,
                scaleAndShift ? ", scale and shift" : "",
                attrText(attr));
        return create(
                "dnnl_layer_normalization_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_layer_normalization_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        src.handle(),
                        dst.handle(),
                        MemorySegment.NULL,
                        epsilon,
                        flags,
                        orNull(attr)));
    }

    /** A reduction of {@code src} to {@code dst}'s dims (size 1 where reduced). */
    public static PrimitiveDesc reduction(
            Engine engine, Algorithm alg, MemoryDesc src, MemoryDesc dst, PrimitiveAttr attr) {
        String d = String.format(Locale.ROOT, "reduction %s, src %s, dst %s%s", alg, src, dst, attrText(attr));
        return create(
                "dnnl_reduction_primitive_desc_create",
                d,
                (p, a) -> dnnl_reduction_primitive_desc_create(
                        p, engine.handle(), alg.value(), src.handle(), dst.handle(), 0f, 0f, orNull(attr)));
    }

    /** Resampling of the spatial dimensions (all after the first two) from {@code src} to {@code dst}'s sizes. */
    public static PrimitiveDesc resampling(
            Engine engine, Algorithm alg, float[] factors, MemoryDesc src, MemoryDesc dst, PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "resampling %s factors %s, src %s, dst %s%s",
                alg,
                Arrays.toString(factors),
                src,
                dst,
                attrText(attr));
        return create(
                "dnnl_resampling_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_resampling_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        alg.value(),
                        factors == null ? MemorySegment.NULL : a.allocateFrom(ValueLayout.JAVA_FLOAT, factors),
                        src.handle(),
                        dst.handle(),
                        orNull(attr)));
    }

    /**
     * A direct deconvolution (transposed convolution).
     *
     * @param dilation oneDNN's convention: 0 means none
     */
    public static PrimitiveDesc deconvolution(
            Engine engine,
            MemoryDesc src,
            MemoryDesc weights,
            MemoryDesc bias,
            MemoryDesc dst,
            long[] stride,
            long[] dilation,
            long[] padL,
            long[] padR,
            PrimitiveAttr attr) {
        String d = String.format(
                Locale.ROOT,
                "deconvolution src %s, weights %s, dst %s, stride %s, dilation %s (oneDNN: 0 = none), padding_l %s, "
                        + "padding_r %s%s",
                src,
                weights,
                dst,
                Arrays.toString(stride),
                Arrays.toString(dilation),
                Arrays.toString(padL),
                Arrays.toString(padR),
                attrText(attr));
        return create(
                "dnnl_deconvolution_forward_primitive_desc_create",
                d,
                (p, a) -> dnnl_deconvolution_forward_primitive_desc_create(
                        p,
                        engine.handle(),
                        dnnl_forward_inference(),
                        Algorithm.DECONVOLUTION_DIRECT.value(),
                        src.handle(),
                        weights.handle(),
                        orNull(bias),
                        dst.handle(),
                        dims(a, stride),
                        dims(a, dilation),
                        dims(a, padL),
                        dims(a, padR),
                        orNull(attr)));
    }

    /** A reorder (layout or data type change) from {@code from} to {@code to}. */
    public static PrimitiveDesc reorder(Engine engine, MemoryDesc from, MemoryDesc to, PrimitiveAttr attr) {
        String d = "reorder from " + from + " to " + to;
        return create(
                "dnnl_reorder_primitive_desc_create",
                d,
                (p, a) -> dnnl_reorder_primitive_desc_create(
                        p, from.handle(), engine.handle(), to.handle(), engine.handle(), orNull(attr)));
    }

    private static String attrText(PrimitiveAttr attr) {
        return attr == null || attr.postOpsText().isEmpty() ? "" : ", post-ops " + attr.postOpsText();
    }

    /**
     * The layout the primitive expects for {@code arg}, or null if it takes no such argument. Belongs to this
     * descriptor.
     */
    public MemoryDesc query(Arg arg) {
        MemorySegment md = dnnl_primitive_desc_query_md(handle(), dnnl_query_exec_arg_md(), arg.id());
        if (md.equals(MemorySegment.NULL)) {
            return null;
        }
        MemoryDesc desc = MemoryDesc.borrowed(md, arg + " layout chosen by oneDNN for " + description);
        return desc.byteSize() == 0 && desc.dims().length == 0 ? null : desc;
    }

    /** The scratchpad layout (zero bytes when the primitive needs none). */
    public MemoryDesc scratchpadDesc() {
        MemorySegment md = dnnl_primitive_desc_query_md(handle(), dnnl_query_scratchpad_md(), 0);
        if (md.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("no scratchpad descriptor in " + description);
        }
        return MemoryDesc.borrowed(md, "scratchpad of " + description);
    }

    /** The implementation oneDNN picked, e.g. {@code brg_conv_fwd:avx512_core}. */
    public String implementation() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(
                    dnnl_primitive_desc_query(handle(), dnnl_query_impl_info_str(), 0, p),
                    "dnnl_primitive_desc_query",
                    () -> "impl_info_str of " + description);
            return p.get(C_POINTER, 0).getString(0);
        }
    }

    /**
     * Moves to the next implementation oneDNN offers for the same operation; false (and unchanged) when this was
     * the last. Descriptors queried before belong to the previous implementation: query again.
     */
    public boolean nextImplementation() {
        int status = dnnl_primitive_desc_next_impl(handle());
        if (status == dnnl_last_impl_reached()) {
            return false;
        }
        Dnnl.check(status, "dnnl_primitive_desc_next_impl", description);
        return true;
    }

    @Override
    public String toString() {
        return description;
    }
}
