package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanCache;
import dev.onednn4j.internal.memory.ElementType;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.Binary;
import dev.onednn4j.internal.op.BinaryOp;
import dev.onednn4j.internal.op.ConcatOp;
import dev.onednn4j.internal.op.Eltwise;
import dev.onednn4j.internal.op.GraphOp;
import dev.onednn4j.internal.op.MatMulOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.ResampleOp;
import dev.onednn4j.internal.op.SoftmaxOp;
import java.util.Arrays;
import java.util.Locale;

/**
 * The operations of the public tensor ({@code add}, {@code add_}, {@code relu}, {@code relu_}) on oneDNN,
 * with plans shared by the whole process in bounded caches keyed by shape and layouts. Both are exact (one IEEE
 * rounding, or none), so they give the same bits as a plain Java loop.
 */
public final class TensorOps {
    private static final PlanCache ADD = new PlanCache();
    private static final PlanCache RELU = new PlanCache();

    private TensorOps() {}

    /** PyTorch's check of same-shape operands (no broadcasting here), float32 only. */
    public static void checkSameShape(TensorImpl a, TensorImpl b, String op) {
        if (!Arrays.equals(a.shapeRef(), b.shapeRef())) {
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

    private static void requireFloat32(TensorImpl t, String op) {
        if (t.dtype() != ElementType.FLOAT32) {
            throw new IllegalArgumentException(op + " takes float32 tensors, got " + t);
        }
    }

    /**
     * Refuses an output that shares memory with an operand without being the same elements (a shifted view of it):
     * oneDNN would read elements it has already overwritten.
     */
    private static void checkNoPartialOverlap(TensorImpl operand, TensorImpl out, String op) {
        if (operand.overlaps(out) && !operand.sameElements(out)) {
            throw TensorImpl.overlapError(op + ": the operand overlaps the tensor written without being the same "
                    + "elements (it may be the same tensor, or share no memory with it)");
        }
    }

    /** {@code a + b} into a new tensor in {@code a}'s format, as {@code torch.add} without broadcasting. */
    public static TensorImpl add(TensorImpl a, TensorImpl b) {
        checkSameShape(a, b, "add");
        return TensorImpl.filled(TensorImpl.empty(a.dtype(), a.format(), a.shapeRef()), out -> add(a, b, out));
    }

    /** {@code a += b}, as {@code add_}. */
    public static void addInPlace(TensorImpl a, TensorImpl b) {
        a.ensureWritable();
        checkSameShape(a, b, "add_");
        add(a, b, a);
    }

    /** {@code out = a + b}; {@code out} may be {@code a} or {@code b}, but not overlap either otherwise. */
    public static void add(TensorImpl a, TensorImpl b, TensorImpl out) {
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
            p = ADD.put(a, layouts, new Binary(a.shapeRef()).plan(a, b, out));
        }
        try {
            p.run(a, b, out);
        } finally {
            p.release();
        }
    }

    /** {@code max(x, 0)} into a new tensor in {@code x}'s format, as {@code torch.relu}. */
    public static TensorImpl relu(TensorImpl x) {
        return TensorImpl.filled(TensorImpl.empty(x.dtype(), x.format(), x.shapeRef()), out -> relu(x, out));
    }

    /** {@code x = max(x, 0)}, as {@code relu_}. */
    public static void reluInPlace(TensorImpl x) {
        x.ensureWritable();
        relu(x, x);
    }

    /** {@code out = max(x, 0)}; {@code out} may be {@code x}, but not overlap it otherwise. */
    public static void relu(TensorImpl x, TensorImpl out) {
        requireFloat32(x, "relu");
        checkNoPartialOverlap(x, out, "relu");
        Trace trace = Tracer.current();
        if (trace != null) {
            trace.tensorOp(new Eltwise(Eltwise.Kind.RELU, 0, x.shapeRef()), out == x ? "relu_" : "relu", x, out);
            return;
        }
        if (x.numel() == 0) {
            pinCheck(x, out, out);
            return;
        }
        int layouts = PlanCache.layouts(x, out);
        Plan p = RELU.get(x, layouts);
        if (p == null) {
            p = RELU.put(x, layouts, new Eltwise(Eltwise.Kind.RELU, 0, x.shapeRef()).plan(x, out));
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
    public static TensorImpl graph(GraphOp op, TensorImpl... in) {
        for (TensorImpl t : in) {
            requireFloat32(t, op.name());
        }
        TensorImpl out = TensorImpl.empty(op.outputShape());
        try {
            Trace trace = Tracer.current();
            if (trace != null) {
                trace.graphOp(op, in, out);
                return out;
            }
            if (out.numel() == 0) {
                return out;
            }
            TensorImpl[] all = java.util.Arrays.copyOf(in, in.length + 1);
            all[in.length] = out;
            StringBuilder key = new StringBuilder(op.name());
            for (TensorImpl t : in) {
                key.append(Arrays.toString(t.shapeRef())).append(t.format().name());
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
    public static TensorImpl mul(TensorImpl a, TensorImpl b) {
        long[] sa = a.shapeRef();
        long[] sb = b.shapeRef();
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
    public static TensorImpl cat(java.util.List<TensorImpl> tensors, long dim) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("torch.cat(): expected a non-empty list of Tensors");
        }
        long[] first = tensors.get(0).shapeRef();
        int axis = Nd.axis(dim, first.length, "cat");
        java.util.List<long[]> shapes = new java.util.ArrayList<>();
        for (int k = 0; k < tensors.size(); k++) {
            long[] s = tensors.get(k).shapeRef();
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
        return graph(new ConcatOp(axis, shapes, new TensorImpl[tensors.size()]), tensors.toArray(new TensorImpl[0]));
    }

    /** {@code torch.matmul} of two operands of rank 2 or more (batch dimensions broadcast). */
    public static TensorImpl matmul(TensorImpl a, TensorImpl b) {
        long[] sa = a.shapeRef();
        long[] sb = b.shapeRef();
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
    public static TensorImpl softmax(TensorImpl x, long dim) {
        long[] s = x.shapeRef();
        return graph(new SoftmaxOp(s, Nd.axis(dim, s.length, "softmax")), x);
    }

    /** {@code F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)} of an (N, C, H, W) tensor. */
    public static TensorImpl interpolate(TensorImpl x, long h, long w) {
        long[] s = x.shapeRef();
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
    private static void pinCheck(TensorImpl a, TensorImpl b, TensorImpl c) {
        a.unpin(a.pin());
        b.unpin(b.pin());
        c.unpin(c.pin());
    }
}
