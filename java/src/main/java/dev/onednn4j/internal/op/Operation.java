package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.List;

/**
 * One operation resolved for one input shape: its oneDNN primitive and its pure-Java reference, two
 * implementations of the same thing behind one interface so either can run any layer and each can be checked
 * against the other. The tensors of a call are passed in slot order: the inputs, then the output. Constants
 * (weights) belong to the operation.
 */
public interface Operation {

    /** The output's shape for the input this operation was resolved for. */
    long[] outputShape();

    /**
     * The oneDNN plan for calls whose tensors are laid out as {@code tensors} are (their shapes are this
     * operation's): the primitive descriptor and how the tensors map onto its arguments.
     */
    Plan plan(TensorImpl... tensors);

    /**
     * A constant argument of the operation's primitive, for compiled graphs: float32 values from a tensor (in its
     * layout) or from an array (row-major), seen by the primitive with {@code dims}.
     */
    @SuppressWarnings("ArrayRecordComponent") // a carrier handed from the operation to the compiler, never compared
    record Constant(Arg arg, long[] dims, TensorImpl tensor, float[] values) {}

    /**
     * For compiled graphs: the operation as one primitive descriptor reading {@code src} (a fixed layout, or
     * {@code any}) and writing {@code dst} (a fixed layout, or null for {@code any}), its activations in {@code dt},
     * with {@code attr} (scratchpad mode and any fused post-ops); its other arguments are {@link #constants()}. Null
     * when the operation has no such form on this input (the graph then cannot be compiled).
     */
    default PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return null;
    }

    /** The constant arguments of {@link #describe}'s primitive. */
    default List<Constant> constants() {
        return List.of();
    }

    /**
     * Appends the operation to {@code postOps} if it is element-wise (so it can be fused into the primitive that
     * produces its input) and returns true; false otherwise.
     */
    default boolean appendTo(PostOps postOps) {
        return false;
    }

    /** Whether {@link #describe}'s primitive accepts fused post-ops (element-wise and sum): convolution, linear. */
    default boolean fusesPostOps() {
        return false;
    }

    /**
     * Which kind of plan the operation's constants need now, beside the tensors' shapes and layouts: 0 normally; an
     * operation whose plan depends on its constants' values (a convolution with non-finite weights pads
     * explicitly) returns another small number (below 128), and callers keep one plan per value. Cheap: called
     * on every call.
     */
    default int planVariant() {
        return 0;
    }

    /**
     * The output for {@code input} (in logical row-major order) computed by the plain Java loops in double, before
     * rounding to float: the reference, and what a float implementation is measured against.
     */
    double[] exact(float[] input);

    /**
     * Per output element, how far a correct float32 implementation may be from {@link #exact}: a proven rounding
     * bound where the arithmetic allows one (sums: {@code gamma(n)} times the sum of the magnitudes of the terms,
     * as benchdnn does), {@code u * |exact|} where the result must be the correctly rounded value, and benchdnn's
     * thresholds for functions oneDNN approximates (exp, tanh, erf).
     */
    double[] bound(float[] input);

    /** Computes the output (the last tensor) from the input (the first) with the plain Java loops. */
    default void reference(TensorImpl... tensors) {
        double[] y = exact(tensors[0].toFloatArray());
        float[] f = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            f[i] = (float) y[i];
        }
        tensors[tensors.length - 1].copyFrom(f);
    }
}
