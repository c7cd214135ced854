package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_set_fpmath_mode;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_set_post_ops;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_set_scales_mask;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_set_scratchpad_mode;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_attr_set_zero_points_mask;
import static dev.onednn4j.bindings.dnnl_h.dnnl_scratchpad_mode_user;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Primitive attributes. A primitive descriptor copies them: close right after creating it. */
public final class PrimitiveAttr extends NativeHandle {
    private String postOpsText = "";

    private PrimitiveAttr(MemorySegment handle) {
        super(handle, "dnnl_primitive_attr_destroy", dnnl_h::dnnl_primitive_attr_destroy);
    }

    public static PrimitiveAttr create() {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_primitive_attr_create(p), "dnnl_primitive_attr_create");
            return new PrimitiveAttr(p.get(C_POINTER, 0));
        }
    }

    /**
     * The caller passes a scratchpad to every execution, so one primitive can run on several threads at
     * once, each with its own scratchpad.
     */
    public PrimitiveAttr userScratchpad() {
        Dnnl.check(
                dnnl_primitive_attr_set_scratchpad_mode(handle(), dnnl_scratchpad_mode_user()),
                "dnnl_primitive_attr_set_scratchpad_mode");
        return this;
    }

    /** Fuses {@code postOps} into the primitive (copied: close them after creating the descriptor). */
    public PrimitiveAttr postOps(PostOps postOps) {
        Dnnl.check(
                dnnl_primitive_attr_set_post_ops(handle(), postOps.handle()),
                "dnnl_primitive_attr_set_post_ops",
                postOps::toString);
        postOpsText = postOps.toString();
        return this;
    }

    /** The post-ops set, as text for descriptions; empty when none. */
    String postOpsText() {
        return postOpsText;
    }

    /**
     * Scaling factors for argument {@code arg}, passed at execution as {@link Arg#scales(Arg)}: one for the whole
     * tensor ({@code mask} 0) or one per index of each dimension whose bit is set (bit 0: a convolution's output
     * channels in its weights).
     */
    public PrimitiveAttr scalesMask(Arg arg, int mask) {
        Dnnl.check(
                dnnl_primitive_attr_set_scales_mask(handle(), arg.id(), mask),
                "dnnl_primitive_attr_set_scales_mask",
                () -> arg + " mask " + mask);
        return this;
    }

    /**
     * Int8 zero points of {@code arg}, given at execution as {@link Arg#zeroPoints} of {@code arg} (s32): a stored
     * integer {@code q} means {@code (q - zeroPoint) * scale}; mask 0, one for the whole tensor.
     */
    public PrimitiveAttr zeroPointsMask(Arg arg, int mask) {
        Dnnl.check(
                dnnl_primitive_attr_set_zero_points_mask(handle(), arg.id(), mask),
                "dnnl_primitive_attr_set_zero_points_mask",
                () -> arg + " mask " + mask);
        return this;
    }

    /** {@code dnnl_fpmath_mode_*}: strict (the default) keeps f32 arithmetic in f32. */
    public PrimitiveAttr fpmathMode(int mode) {
        Dnnl.check(dnnl_primitive_attr_set_fpmath_mode(handle(), mode), "dnnl_primitive_attr_set_fpmath_mode");
        return this;
    }
}
