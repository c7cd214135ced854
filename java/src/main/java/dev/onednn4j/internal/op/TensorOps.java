package dev.onednn4j.internal.op;

import dev.onednn4j.internal.TensorAccess;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanCache;
import dev.onednn4j.internal.graph.Trace;
import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;

/**
 * The element-wise operations of {@link Tensor} ({@code add}, {@code add_}, {@code relu}, {@code relu_}) on oneDNN,
 * with plans shared by the whole process in bounded caches keyed by shape and layouts. Both are exact (one IEEE
 * rounding, or none), so they give the same bits as a plain Java loop.
 */
public final class TensorOps {
    private static final TensorAccess TENSORS = TensorAccess.get();
    private static final PlanCache ADD = new PlanCache();
    private static final PlanCache RELU = new PlanCache();

    private TensorOps() {}

    /** PyTorch's check of same-shape operands (no broadcasting here), float32 only. */
    public static void checkSameShape(Tensor a, Tensor b, String op) {
        if (!Arrays.equals(TENSORS.shape(a), TENSORS.shape(b))) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "The size of tensor a %s must match the size of tensor b %s (%s does not broadcast)",
                    Arrays.toString(a.shape()),
                    Arrays.toString(b.shape()),
                    op));
        }
        requireFloat32(a, op);
        requireFloat32(b, op);
    }

    private static void requireFloat32(Tensor t, String op) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(op + " takes float32 tensors, got " + t);
        }
    }

    /**
     * Refuses an output that shares memory with an operand without being the same elements (a shifted view of it):
     * oneDNN would read elements it has already overwritten.
     */
    private static void checkNoPartialOverlap(Tensor operand, Tensor out, String op) {
        if (TENSORS.overlaps(operand, out) && !TENSORS.sameElements(operand, out)) {
            throw TensorAccess.overlapError(op + ": the operand overlaps the tensor written without being the same "
                    + "elements (it may be the same tensor, or share no memory with it)");
        }
    }

    /** {@code out = a + b}; {@code out} may be {@code a} or {@code b}, but not overlap either otherwise. */
    public static void add(Tensor a, Tensor b, Tensor out) {
        checkNoPartialOverlap(a, out, "add");
        checkNoPartialOverlap(b, out, "add");
        Trace trace = Tracer.current();
        if (trace != null) {
            trace.add(a, b, out, out == a || out == b ? "add_" : "add");
            return;
        }
        if (a.numel() == 0) {
            pinCheck(a, b, out);
            return;
        }
        int layouts = PlanCache.layouts(a, b, out);
        Plan p = ADD.get(a, layouts);
        if (p == null) {
            p = ADD.put(a, layouts, new Binary(TENSORS.shape(a)).plan(a, b, out));
        }
        try {
            p.run(a, b, out);
        } finally {
            p.release();
        }
    }

    /** {@code out = max(x, 0)}; {@code out} may be {@code x}, but not overlap it otherwise. */
    public static void relu(Tensor x, Tensor out) {
        requireFloat32(x, "relu");
        checkNoPartialOverlap(x, out, "relu");
        Trace trace = Tracer.current();
        if (trace != null) {
            trace.tensorOp(new Eltwise(Eltwise.Kind.RELU, 0, TENSORS.shape(x)), out == x ? "relu_" : "relu", x, out);
            return;
        }
        if (x.numel() == 0) {
            pinCheck(x, out, out);
            return;
        }
        int layouts = PlanCache.layouts(x, out);
        Plan p = RELU.get(x, layouts);
        if (p == null) {
            p = RELU.put(x, layouts, new Eltwise(Eltwise.Kind.RELU, 0, TENSORS.shape(x)).plan(x, out));
        }
        try {
            p.run(x, out);
        } finally {
            p.release();
        }
    }

    /** Refuses closed tensors even when there is nothing to compute. */
    private static void pinCheck(Tensor a, Tensor b, Tensor c) {
        TENSORS.unpin(a, TENSORS.pin(a));
        TENSORS.unpin(b, TENSORS.pin(b));
        TENSORS.unpin(c, TENSORS.pin(c));
    }
}
