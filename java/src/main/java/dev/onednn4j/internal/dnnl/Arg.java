package dev.onednn4j.internal.dnnl;

import dev.onednn4j.bindings.dnnl_h;

/**
 * An execution argument: oneDNN's {@code DNNL_ARG_*} id with its name, for messages. The ids are also what
 * {@code dnnl_query_exec_arg_md} takes to ask a primitive descriptor for an argument's layout.
 */
public record Arg(int id, String name) {
    public static final Arg SRC = new Arg(dnnl_h.DNNL_ARG_SRC(), "src");
    /** The second source of a binary primitive. */
    public static final Arg SRC_1 = new Arg(dnnl_h.DNNL_ARG_SRC_1(), "src_1");

    public static final Arg DST = new Arg(dnnl_h.DNNL_ARG_DST(), "dst");
    public static final Arg WEIGHTS = new Arg(dnnl_h.DNNL_ARG_WEIGHTS(), "weights");
    public static final Arg BIAS = new Arg(dnnl_h.DNNL_ARG_BIAS(), "bias");
    public static final Arg MEAN = new Arg(dnnl_h.DNNL_ARG_MEAN(), "mean");
    public static final Arg VARIANCE = new Arg(dnnl_h.DNNL_ARG_VARIANCE(), "variance");
    public static final Arg SCALE = new Arg(dnnl_h.DNNL_ARG_SCALE(), "scale");
    public static final Arg SHIFT = new Arg(dnnl_h.DNNL_ARG_SHIFT(), "shift");
    public static final Arg WORKSPACE = new Arg(dnnl_h.DNNL_ARG_WORKSPACE(), "workspace");
    public static final Arg SCRATCHPAD = new Arg(dnnl_h.DNNL_ARG_SCRATCHPAD(), "scratchpad");
    public static final Arg FROM = new Arg(dnnl_h.DNNL_ARG_FROM(), "from");
    public static final Arg TO = new Arg(dnnl_h.DNNL_ARG_TO(), "to");

    /**
     * The second operand of the binary post-op at position {@code index} of the post-op chain:
     * {@code DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1}. The C macro is function-like, so no
     * generator turns it into a constant; {@code DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE} is its factor.
     */
    public static Arg postOpSrc1(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("post-op index must be >= 0, got " + index);
        }
        return new Arg(
                dnnl_h.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE() * (index + 1) | dnnl_h.DNNL_ARG_SRC_1(),
                "post_op_" + index + "_src_1");
    }

    /** The scaling factors of argument {@code of} ({@code DNNL_ARG_ATTR_SCALES | of}): see PrimitiveAttr#scalesMask. */
    public static Arg scales(Arg of) {
        return new Arg(dnnl_h.DNNL_ARG_ATTR_SCALES() | of.id(), "scales_" + of.name());
    }

    /** The zero points of argument {@code of} ({@code DNNL_ARG_ATTR_ZERO_POINTS | of}): see PrimitiveAttr#zeroPointsMask. */
    public static Arg zeroPoints(Arg of) {
        return new Arg(dnnl_h.DNNL_ARG_ATTR_ZERO_POINTS() | of.id(), "zero_points_" + of.name());
    }

    /** Source {@code index} of a primitive with many sources (concat): {@code DNNL_ARG_MULTIPLE_SRC + index}. */
    public static Arg multipleSrc(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("source index must be >= 0, got " + index);
        }
        return new Arg(dnnl_h.DNNL_ARG_MULTIPLE_SRC() + index, "src_" + index);
    }

    @Override
    public String toString() {
        return name;
    }
}
