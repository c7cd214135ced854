package dev.onednn4j.nn;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanCache;
import dev.onednn4j.internal.graph.Trace;
import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/**
 * A module that runs one {@link Operation} per call: what every oneDNN-backed layer shares. It resolves the
 * operation for an input shape (validating it, once per shape), dispatches to the module's {@link Backend}, keeps
 * the oneDNN plans in a bounded {@link PlanCache} keyed by input shape and layouts, drops them when the backend
 * changes and frees them when the module is closed (after running calls end).
 *
 * <p>A layer built on it is its arguments, a {@link #resolve} that validates an input shape and returns the
 * operation, and its repr; {@link #forward(Tensor)} and {@link #forward(Tensor, Tensor)} are shared.
 *
 */
abstract class OperationModule extends Module {

    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final PlanCache plans = new PlanCache();
    /** The operation of the most recent input shape: a repeated shape resolves without allocating. */
    private volatile Resolved last;

    /** An input shape (a private copy), its operation and its output shape. */
    private static final class Resolved {
        final long[] shape;
        final Operation op;
        final long[] outputShape;

        Resolved(long[] shape, Operation op, long[] outputShape) {
            this.shape = shape;
            this.op = op;
            this.outputShape = outputShape;
        }
    }

    /**
     * Validates an input of {@code shape} (refusing it with PyTorch's wording and the values) and returns the
     * operation for it.
     */
    abstract Operation resolve(long[] shape);

    /**
     * Computes the layer on {@code input} into a new tensor, owned by the caller: in the input's memory format when
     * both are 4-D, contiguous otherwise.
     */
    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        Resolved r = resolved(input);
        Operation op = r.op;
        Tensor out = newOutput(input, r.outputShape);
        try {
            run(op, input, out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /**
     * Computes the layer on {@code input} into {@code out}, which must have the output's shape and may be in
     * either memory format. Allocates nothing once the plan for this input shape and these layouts exists.
     *
     * @param input the input, float32; stays the caller's, unchanged
     * @param out   receives the output: float32, writable, of the output's shape, sharing no memory with
     *              {@code input} (except that an element-wise activation may be given the input itself, and then
     *              runs in place) or with this layer's parameters and buffers; stays the caller's
     * @throws IllegalArgumentException if {@code input} does not fit the layer, or {@code out} breaks one of the
     *     rules above (an overlap is refused with PyTorch's words, naming what {@code out} overlaps), before any
     *     native call
     */
    public void forward(Tensor input, Tensor out) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        Resolved r = resolved(input);
        checkOut(input, out, r.outputShape);
        run(r.op, input, out);
    }

    /** The operation for {@code input}'s shape (which must be float32), resolved once per shape. */
    final Operation operation(Tensor input) {
        return resolved(input).op;
    }

    /** The operation and its output shape for {@code input}'s shape; a repeated shape allocates nothing. */
    private Resolved resolved(Tensor input) {
        requireFloat32(input);
        long[] shape = FACE.impl(input).shapeRef();
        Resolved r = last;
        if (r != null && Arrays.equals(r.shape, shape)) {
            return r;
        }
        Operation op = resolve(shape.clone());
        r = new Resolved(shape.clone(), op, op.outputShape());
        last = r;
        return r;
    }

    /** Refuses an input that is not float32, as PyTorch refuses mismatched dtypes. */
    private void requireFloat32(Tensor input) {
        if (input.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s expects a float32 input, but got %s of dtype %s (convert it with to(DType.FLOAT32))",
                    getName(),
                    Arrays.toString(input.shape()),
                    input.dtype()));
        }
    }

    /**
     * A new output tensor for {@code op}: in the input's memory format where the output is 4-D and the input is
     * too, contiguous otherwise.
     */
    static Tensor newOutput(Tensor input, long[] shape) {
        MemoryFormat f = input.dim() == 4 && shape.length == 4 ? input.memoryFormat() : MemoryFormat.CONTIGUOUS;
        return Tensor.empty(f, shape); // the operation writes every element
    }

    /**
     * Checks a caller's {@code out} for {@code forward(input, out)}: the expected shape, float32, writable, and not
     * sharing memory with the input or the module's own tensors.
     */
    private void checkOut(Tensor input, Tensor out, long[] expected) {
        Objects.requireNonNull(out, "out");
        if (!Arrays.equals(FACE.impl(out).shapeRef(), expected)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "out has shape %s, but the output of %s for input of size %s has shape %s",
                    Arrays.toString(out.shape()),
                    getName(),
                    Arrays.toString(input.shape()),
                    Arrays.toString(expected)));
        }
        if (out.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("out must be float32, got " + out.dtype());
        }
        if (out.isReadOnly()) {
            throw new IllegalArgumentException("out is read-only (" + out + "); it cannot receive the output");
        }
        if (FACE.impl(out).overlaps(FACE.impl(input))
                && !(runsInPlace() && FACE.impl(out).sameElements(FACE.impl(input)))) {
            throw TensorImpl.overlapError(
                    runsInPlace()
                            ? "out overlaps the input without being the same elements: " + getName()
                                    + " runs in place only when out is the input itself"
                            : "out overlaps the input, which " + getName() + " cannot compute in place");
        }
        Own[] own = ownTensors;
        if (own == null) {
            ownTensors = own = stateDict().entrySet().stream()
                    .map(e -> new Own(e.getKey(), e.getValue()))
                    .toArray(Own[]::new);
        }
        for (Own t : own) {
            if (FACE.impl(out).overlaps(FACE.impl(t.tensor()))) {
                throw TensorImpl.overlapError(
                        "out overlaps the " + t.name() + " of this " + getName() + ", which it would overwrite");
            }
        }
    }

    /** One of the module's parameters and buffers, by its state-dict name. */
    private record Own(String name, Tensor tensor) {}

    /** The module's parameters and buffers (a leaf has no children), for the overlap check. */
    private volatile Own[] ownTensors;

    /**
     * Whether the operation may write its output over its input when both are the same elements (an element-wise
     * activation); false by default.
     */
    boolean runsInPlace() {
        return false;
    }

    /** Computes {@code out = op(input)} on this module's backend. */
    final void run(Operation op, Tensor input, Tensor out) {
        TensorImpl in = FACE.impl(input);
        TensorImpl o = FACE.impl(out);
        Trace trace = Tracer.current();
        if (trace != null) {
            trace.op(op, this, in, o); // compiling: record instead of computing
            return;
        }
        if (in.numel() == 0 || o.numel() == 0) {
            in.unpin(in.pin()); // throws if closed, as using it would
            o.unpin(o.pin());
            if (o.numel() > 0) { // no layer resolves such a shape today; never leave an output unwritten
                o.copyFrom(new float[Math.toIntExact(o.numel())]);
            }
            return; // nothing to compute: an empty batch
        }
        if (backend() == Backend.REFERENCE) {
            op.reference(in, o);
            return;
        }
        int key = planKey(op, in, o);
        Plan plan = plans.get(in, key);
        if (plan == null) {
            plan = plans.put(in, key, op.plan(in, o));
        }
        try {
            plan.run(in, o);
        } finally {
            plan.release();
        }
    }

    /** The plan cache's key beside the input shape: the tensors' layouts, and the operation's variant above them. */
    private static int planKey(Operation op, TensorImpl input, TensorImpl out) {
        return PlanCache.layouts(input, out) | op.planVariant() << 24;
    }

    /**
     * Applies {@code f} to the plan oneDNN runs for these tensors' shapes and layouts, building it if needed: its
     * implementation, the layout of each argument, any reorder. For logs and tools.
     */
    final <T> T withPlan(Tensor input, Tensor out, Function<Plan, T> f) {
        Operation op = operation(input);
        TensorImpl in = FACE.impl(input);
        TensorImpl o = FACE.impl(out);
        int key = planKey(op, in, o);
        Plan plan = plans.get(in, key);
        if (plan == null) {
            plan = plans.put(in, key, op.plan(in, o));
        }
        try {
            return f.apply(plan);
        } finally {
            plan.release();
        }
    }

    /**
     * Number of oneDNN plans this module keeps (one per input shape and layouts, bounded).
     *
     * @return the plans now cached; 0 before the first call on oneDNN and after a switch to another backend
     */
    public final int planCount() {
        return plans.size();
    }

    @Override
    void threadsChanged(int threads) {
        plans.threads(threads);
    }

    @Override
    protected void backendChanged(Backend newBackend) {
        if (newBackend != Backend.ONEDNN) {
            plans.clear();
        }
    }

    @Override
    protected void release() {
        plans.close(); // each plan is destroyed once the calls using it end
    }
}
