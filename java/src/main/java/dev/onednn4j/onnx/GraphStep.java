package dev.onednn4j.onnx;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanCache;
import dev.onednn4j.internal.graph.Trace;
import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.GraphOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;

/**
 * One {@link GraphOp} of a resolved ONNX graph at run time: its oneDNN plans (per layout of its inputs, built on
 * first use, released when the resolution is closed), its reference loops on the reference backend, and its record
 * while {@code compile} traces.
 */
final class GraphStep implements AutoCloseable {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final GraphOp op;
    private final Backend backend;
    private final PlanCache plans;

    GraphStep(GraphOp op, Backend backend, int threads) {
        this.op = op;
        this.backend = backend;
        this.plans = new PlanCache(8, Long.MAX_VALUE);
        if (threads > 0) {
            plans.threads(threads);
        }
    }

    /**
     * The output for {@code in} (the op's computed inputs in slot order, each seen with the shape the op declares
     * for it: a view, or a copy where the layout needs one), a new contiguous tensor seen as {@code shape}.
     */
    Tensor run(Tensor[] given, long[] shape) {
        Tensor[] in = given.clone();
        java.util.List<Tensor> views = new java.util.ArrayList<>();
        for (int i = 0; i < in.length; i++) {
            long[] want = op.inputShapes().get(i);
            if (!java.util.Arrays.equals(in[i].shape(), want)) {
                in[i] = in[i].reshape(want);
                views.add(in[i]);
            }
        }
        try {
            return compute(in, shape);
        } finally {
            views.forEach(Tensor::close);
        }
    }

    private Tensor compute(Tensor[] in, long[] shape) {
        Tensor out = Tensor.empty(op.outputShape());
        try {
            Trace trace = Tracer.current();
            if (trace != null) {
                trace.graphOp(op, impls(in), FACE.impl(out));
            } else if (backend == Backend.REFERENCE) {
                double[][] x = new double[in.length][];
                for (int i = 0; i < in.length; i++) {
                    x[i] = in[i].toDoubleArray();
                }
                out.copyFrom(Nd.floats(op.exact(x)));
            } else if (Nd.numel(op.outputShape()) > 0) {
                TensorImpl[] all = new TensorImpl[in.length + 1];
                for (int i = 0; i < in.length; i++) {
                    all[i] = FACE.impl(in[i]);
                }
                all[in.length] = FACE.impl(out);
                int layouts = 0;
                for (int i = 0; i < in.length && i < 16; i++) {
                    layouts |= (in[i].memoryFormat() == MemoryFormat.CHANNELS_LAST ? 1 : 0) << i;
                }
                Plan p = plans.get(all[0], layouts);
                if (p == null) {
                    p = plans.put(all[0], layouts, op.plan(all));
                }
                try {
                    p.run(all);
                } finally {
                    p.release();
                }
            }
            if (shape.length == op.outputShape().length && java.util.Arrays.equals(shape, op.outputShape())) {
                return out;
            }
            Tensor v = out.reshape(shape);
            out.close();
            return v;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    private static TensorImpl[] impls(Tensor[] t) {
        TensorImpl[] out = new TensorImpl[t.length];
        for (int i = 0; i < t.length; i++) {
            out[i] = FACE.impl(t[i]);
        }
        return out;
    }

    @Override
    public void close() {
        plans.close();
    }
}
