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

    /** Plans of the general operations, by operation and shapes ({@link GraphOp#name} and the input shapes). */
    private static final java.util.Map<String, Plan> GRAPH =
            java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>(64, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<String, Plan> eldest) {
                    if (size() > 64) {
                        eldest.getValue().release();
                        return true;
                    }
                    return false;
                }
            });

    /**
     * {@code op} on {@code in} (its computed inputs in slot order) into a new contiguous float32 tensor: recorded
     * while a module is being compiled, else run on oneDNN with a plan kept per operation, shapes and layouts (at
     * most 64 plans, least recently used dropped).
     */
    public static Tensor graph(GraphOp op, Tensor... in) {
        for (Tensor t : in) {
            requireFloat32(t, op.name());
        }
        Tensor out = Tensor.empty(op.outputShape());
        try {
            Trace trace = Tracer.current();
            if (trace != null) {
                trace.graphOp(op, in, out);
                return out;
            }
            if (out.numel() == 0) {
                return out;
            }
            Tensor[] all = java.util.Arrays.copyOf(in, in.length + 1);
            all[in.length] = out;
            StringBuilder key = new StringBuilder(op.name());
            for (Tensor t : in) {
                key.append(Arrays.toString(TENSORS.shape(t)))
                        .append(t.memoryFormat().name());
            }
            Plan p;
            synchronized (GRAPH) {
                p = GRAPH.get(key.toString());
                if (p == null || !p.retain()) {
                    p = op.plan(all);
                    GRAPH.put(key.toString(), p);
                    p.retain();
                }
            }
            try {
                p.run(all);
            } finally {
                p.release();
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /** {@code a * b} with numpy broadcasting, as {@code torch.mul}; the result has the broadcast shape. */
    public static Tensor mul(Tensor a, Tensor b) {
        long[] sa = TENSORS.shape(a);
        long[] sb = TENSORS.shape(b);
        long[] out = Nd.broadcast(sa, sb, "mul");
        if (Arrays.equals(out, sa)) {
            return graph(new BinaryOp(BinaryOp.Kind.MUL, sa, sb, null), a, b);
        }
        if (Arrays.equals(out, sb)) {
            return graph(new BinaryOp(BinaryOp.Kind.MUL, sb, sa, null), b, a);
        }
        throw new IllegalArgumentException(String.format(
                Locale.ROOT,
                "mul: one operand must have the broadcast shape %s (got %s and %s)",
                Arrays.toString(out),
                Arrays.toString(sa),
                Arrays.toString(sb)));
    }

    /** {@code torch.cat(tensors, dim)}. */
    public static Tensor cat(java.util.List<Tensor> tensors, long dim) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("torch.cat(): expected a non-empty list of Tensors");
        }
        long[] first = TENSORS.shape(tensors.get(0));
        int axis = Nd.axis(dim, first.length, "cat");
        java.util.List<long[]> shapes = new java.util.ArrayList<>();
        for (int k = 0; k < tensors.size(); k++) {
            long[] s = TENSORS.shape(tensors.get(k));
            for (int d = 0; d < first.length; d++) {
                if (s.length != first.length || (d != axis && s[d] != first[d])) {
                    throw new IllegalArgumentException(String.format(
                            Locale.ROOT,
                            "Sizes of tensors must match except in dimension %d. Expected size %d but got size %d "
                                    + "for tensor number %d in the list.",
                            axis,
                            first[Math.min(d, first.length - 1)],
                            d < s.length ? s[d] : -1,
                            k));
                }
            }
            shapes.add(s);
        }
        return graph(new ConcatOp(axis, shapes, new Tensor[tensors.size()]), tensors.toArray(new Tensor[0]));
    }

    /** {@code torch.matmul} of two operands of rank 2 or more (batch dimensions broadcast). */
    public static Tensor matmul(Tensor a, Tensor b) {
        long[] sa = TENSORS.shape(a);
        long[] sb = TENSORS.shape(b);
        if (sa.length < 2 || sb.length < 2 || sa[sa.length - 1] != sb[sb.length - 2]) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "matmul: mat1 and mat2 shapes cannot be multiplied (%s and %s; both need 2 or more dimensions)",
                    Arrays.toString(sa),
                    Arrays.toString(sb)));
        }
        return graph(new MatMulOp(sa, sb), a, b);
    }

    /** {@code torch.softmax(x, dim)}. */
    public static Tensor softmax(Tensor x, long dim) {
        long[] s = TENSORS.shape(x);
        return graph(new SoftmaxOp(s, Nd.axis(dim, s.length, "softmax")), x);
    }

    /** {@code F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)} of an (N, C, H, W) tensor. */
    public static Tensor interpolate(Tensor x, long h, long w) {
        long[] s = TENSORS.shape(x);
        if (s.length != 4 || h <= 0 || w <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "interpolate: bilinear resizing takes an (N, C, H, W) input and a positive size, got %s to %dx%d",
                    Arrays.toString(s),
                    h,
                    w));
        }
        return graph(new ResampleOp(s, new long[] {s[0], s[1], h, w}), x);
    }

    /** Refuses closed tensors even when there is nothing to compute. */
    private static void pinCheck(Tensor a, Tensor b, Tensor c) {
        TENSORS.unpin(a, TENSORS.pin(a));
        TENSORS.unpin(b, TENSORS.pin(b));
        TENSORS.unpin(c, TENSORS.pin(c));
    }
}
