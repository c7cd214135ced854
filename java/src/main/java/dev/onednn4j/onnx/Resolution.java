package dev.onednn4j.onnx;

import dev.onednn4j.internal.graph.Tracer;
import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.onnx.OnnxGraph.Attribute;
import dev.onednn4j.internal.onnx.OnnxGraph.Data;
import dev.onednn4j.internal.onnx.OnnxGraph.Node;
import dev.onednn4j.internal.op.GraphOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An ONNX graph resolved for one set of input shapes: shape inference over every node, the constant subgraphs
 * (the {@code Shape -> Gather -> Concat -> Reshape} chains exporters write, masks, weight transposes) folded into
 * constants, and what remains as a list of steps on float32 tensors, each a library layer (so oneDNN or the
 * reference loop, as the model's backend says, and recordable by {@code compile}) or a plain Java loop. Made once
 * per input shapes and backend and kept by {@link OnnxModel}; closing it frees its layers.
 */
final class Resolution implements AutoCloseable {

    /** A value at resolve time: its type and shape, and its data if it is a constant (else it is computed). */
    @SuppressWarnings("ArrayRecordComponent") // compared by identity, never through the record
    record Val(String name, int type, long[] shape, double[] data, Data init) {
        boolean isConst() {
            return data != null || init != null;
        }

        double[] values() {
            return data != null ? data : init.toDoubles();
        }
    }

    /** A step's computation on the runtime tensors of its node's inputs (null for constant inputs). */
    interface Step {
        Tensor[] run(Tensor[] in);
    }

    /** The plain Java computation of an operation: inputs and outputs as row-major doubles. */
    interface Fn {
        double[][] apply(double[][] in);
    }

    /** One runtime step: the node, its runtime input slots, and how it runs. */
    record Planned(Node node, String kind, Step step) {}

    final List<Planned> steps = new ArrayList<>();
    final Map<String, Val> values = new HashMap<>();
    private final List<Module> layers = new ArrayList<>();
    private final List<GraphStep> graphSteps = new ArrayList<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Backend backend;
    private final int threads;

    private Resolution(Backend backend, int threads) {
        this.backend = backend;
        this.threads = threads;
    }

    /** Resolves {@code graph} for inputs of {@code shapes} (by input name). */
    static Resolution resolve(OnnxGraph graph, Map<String, long[]> shapes, Backend backend, int threads) {
        Resolution r = new Resolution(backend, threads);
        try {
            for (var e : graph.initializers().entrySet()) {
                Data d = e.getValue();
                r.values.put(e.getKey(), new Val(e.getKey(), d.elemType(), d.shape(), null, d));
            }
            for (OnnxGraph.ValueInfo in : graph.inputs()) {
                long[] s = shapes.get(in.name());
                r.values.put(in.name(), new Val(in.name(), OnnxGraph.FLOAT, s, null, null));
            }
            for (Node n : graph.nodes()) {
                Ctx c = r.new Ctx(n, graph.opset());
                OnnxOps.get(n.opType()).resolve(c);
                for (int i = 0; i < n.outputs().size(); i++) {
                    if (!n.outputs().get(i).isEmpty()
                            && !r.values.containsKey(n.outputs().get(i))) {
                        throw new IllegalStateException("node " + n.describe() + " did not resolve output " + i);
                    }
                }
            }
            return r;
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
    }

    @Override
    public void close() {
        for (Module m : layers) {
            m.close();
        }
        layers.clear();
        for (GraphStep g : graphSteps) {
            g.close();
        }
        graphSteps.clear();
        for (Tensor t : tensors) {
            t.close();
        }
        tensors.clear();
    }

    /** What an operation sees of its node while resolving: inputs, attributes, and how to define its outputs. */
    final class Ctx {
        final Node node;
        final long opset;

        Ctx(Node node, long opset) {
            this.node = node;
            this.opset = opset;
        }

        String op() {
            return "node " + node.describe();
        }

        @SuppressWarnings("AnnotateFormatMethod") // the ops' messages are constant format strings
        IllegalArgumentException error(String format, Object... args) {
            return new IllegalArgumentException(op() + ": " + String.format(Locale.ROOT, format, args));
        }

        int inputs() {
            return node.inputs().size();
        }

        /** Input {@code i}, or null if the node leaves it out. */
        Val in(int i) {
            if (i >= node.inputs().size() || node.inputs().get(i).isEmpty()) {
                return null;
            }
            return values.get(node.inputs().get(i));
        }

        Val need(int i) {
            Val v = in(i);
            if (v == null) {
                throw error("input %d is required", i);
            }
            return v;
        }

        long[] shape(int i) {
            return need(i).shape();
        }

        /** The values of input {@code i}, which must be a constant once shapes are known. */
        double[] constant(int i, String what) {
            Val v = need(i);
            if (!v.isConst()) {
                throw error(
                        "its %s (input %d, '%s') must be a constant (from initializers and shapes), but it is "
                                + "computed from the model's input; onednn4j supports only constant %s",
                        what, i, v.name(), what);
            }
            return v.values();
        }

        Attribute attr(String name) {
            return node.attributes().get(name);
        }

        long i(String name, long def) {
            Attribute a = attr(name);
            return a == null ? def : a.i();
        }

        float f(String name, float def) {
            Attribute a = attr(name);
            return a == null ? def : a.f();
        }

        String s(String name, String def) {
            Attribute a = attr(name);
            return a == null ? def : a.s();
        }

        long[] ints(String name, long[] def) {
            Attribute a = attr(name);
            return a == null ? def : a.ints();
        }

        /** Defines output {@code i} as a constant. */
        void constOut(int i, int type, long[] shape, double[] data) {
            if (i < node.outputs().size() && !node.outputs().get(i).isEmpty()) {
                String name = node.outputs().get(i);
                values.put(name, new Val(name, type, shape, data, null));
            }
        }

        private void runtimeOut(int i, long[] shape) {
            if (i < node.outputs().size() && !node.outputs().get(i).isEmpty()) {
                String name = node.outputs().get(i);
                values.put(name, new Val(name, OnnxGraph.FLOAT, shape, null, null));
            }
        }

        boolean allConst() {
            for (int i = 0; i < inputs(); i++) {
                Val v = in(i);
                if (v != null && !v.isConst()) {
                    return false;
                }
            }
            return true;
        }

        /**
         * Outputs computed by a plain Java loop: folded now if every input is a constant, else a runtime step on
         * float32 tensors (then every output is float32).
         */
        void java(long[][] outShapes, int[] outTypes, Fn fn) {
            int n = inputs();
            if (allConst()) {
                double[][] in = new double[n][];
                for (int i = 0; i < n; i++) {
                    Val v = in(i);
                    in[i] = v == null ? null : v.values();
                }
                double[][] out = fn.apply(in);
                for (int i = 0; i < out.length; i++) {
                    constOut(i, outTypes[i], outShapes[i], out[i]);
                }
                return;
            }
            for (int i = 0; i < outShapes.length; i++) {
                if (outTypes[i] != OnnxGraph.FLOAT) {
                    throw error(
                            "output %d is %s computed from the model's input at run time; onednn4j computes only "
                                    + "float tensors at run time (integer and bool values must be constants)",
                            i, OnnxGraph.typeName(outTypes[i]));
                }
                runtimeOut(i, outShapes[i]);
            }
            double[][] consts = new double[n][];
            for (int i = 0; i < n; i++) {
                Val v = in(i);
                consts[i] = v != null && v.isConst() ? v.values() : null;
            }
            Node nd = node;
            steps.add(new Planned(node, "java", in -> {
                if (Tracer.current() != null) {
                    throw new IllegalStateException("compile: ONNX node " + nd.describe() + " has no compiled form "
                            + "yet: oneDNN has no primitive for it as it is used here, and it runs as a plain Java "
                            + "loop in eager mode, which a compiled graph cannot hold. Run this model with forward() "
                            + "instead.");
                }
                double[][] args = new double[n][];
                for (int i = 0; i < n; i++) {
                    args[i] = consts[i] != null ? consts[i] : in[i] == null ? null : in[i].toDoubleArray();
                }
                double[][] out = fn.apply(args);
                Tensor[] t = new Tensor[out.length];
                try {
                    for (int i = 0; i < out.length; i++) {
                        t[i] = Tensor.of(Nd.floats(out[i]), outShapes[i]);
                    }
                } catch (RuntimeException | Error e) {
                    for (Tensor x : t) {
                        if (x != null) {
                            x.close();
                        }
                    }
                    throw e;
                }
                return t;
            }));
        }

        /** One float output computed by a plain Java loop (folded when every input is a constant). */
        void java(long[] outShape, Fn fn) {
            java(new long[][] {outShape}, new int[] {OnnxGraph.FLOAT}, fn);
        }

        /** Output 0 is {@code layer} applied to input 0 (a runtime value): oneDNN or the reference loop. */
        void layer(Module layer, long[] outShape) {
            layer(layer, outShape, null);
        }

        /**
         * Output 0 is {@code layer} applied to input 0 seen as {@code inView} (null: as it is), its result seen as
         * {@code outShape}.
         */
        void layer(Module layer, long[] outShape, long[] inView) {
            layer.eval();
            layers.add(layer);
            layer.to(backend);
            if (threads > 0) {
                layer.numThreads(threads);
            }
            Val x = need(0);
            if (x.isConst()) { // a layer on constants (rare): computed once, now
                try (Tensor t = Tensor.of(Nd.floats(x.values()), x.shape());
                        Tensor y = layer.forward(t)) {
                    constOut(0, OnnxGraph.FLOAT, y.shape(), y.toDoubleArray());
                }
                return;
            }
            runtimeOut(0, outShape);
            if (inView == null) {
                steps.add(new Planned(node, layer.getName(), in -> new Tensor[] {layer.forward(in[0])}));
                return;
            }
            steps.add(new Planned(node, layer.getName(), in -> {
                try (Tensor seen = in[0].reshape(inView);
                        Tensor y = layer.forward(seen)) {
                    return new Tensor[] {y.reshape(outShape)};
                }
            }));
        }

        /** Output 0 is input 0 seen with another shape (a view, or a copy where the layout needs one). */
        void view(long[] outShape) {
            Val x = need(0);
            if (Nd.numel(outShape) != Nd.numel(x.shape())) {
                throw error(
                        "shape %s is invalid for input of size %d (shape %s)",
                        Arrays.toString(outShape), Nd.numel(x.shape()), Arrays.toString(x.shape()));
            }
            if (x.isConst()) {
                constOut(0, x.type(), outShape, x.values());
                return;
            }
            runtimeOut(0, outShape);
            steps.add(new Planned(node, "view", in -> new Tensor[] {in[0].reshape(outShape)}));
        }

        /**
         * Output {@code output} is {@code op} on the node's inputs {@code inputs} (in the op's slot order; the op
         * holds its constants itself), seen with {@code shape} (null: the op's output shape). Folded when every
         * input is a constant; else a step on oneDNN (or the op's reference loops on the reference backend), which
         * {@code compile} records.
         */
        void graph(GraphOp op, int[] inputs, int output, long[] shape) {
            long[] outShape = shape != null ? shape : op.outputShape();
            if (allConst()) {
                double[][] in = new double[inputs.length][];
                for (int i = 0; i < inputs.length; i++) {
                    in[i] = need(inputs[i]).values();
                }
                int type = inputs.length > 0 ? need(inputs[0]).type() : OnnxGraph.FLOAT; // int64 shapes stay int64
                constOut(output, type, outShape, op.exact(in));
                return;
            }
            for (int i : inputs) {
                if (need(i).isConst()) {
                    throw new IllegalStateException(op() + ": constant input " + i + " given as a computed one");
                }
            }
            runtimeOut(output, outShape);
            GraphStep g = new GraphStep(op, backend, threads);
            graphSteps.add(g);
            int count = node.outputs().size();
            steps.add(new Planned(node, op.name(), in -> {
                Tensor[] args = new Tensor[inputs.length];
                for (int i = 0; i < args.length; i++) {
                    args[i] = in[inputs[i]];
                }
                Tensor[] out = new Tensor[count];
                out[output] = g.run(args, outShape);
                return out;
            }));
        }

        void graph(GraphOp op, int... inputs) {
            graph(op, inputs, 0, null);
        }

        /** {@code t} (if not null) is now the resolution's, closed with it. */
        void own(Tensor t) {
            if (t != null) {
                tensors.add(t);
            }
        }

        /** A float32 tensor holding constant input {@code i}, owned by the resolution. */
        Tensor constantTensor(int i) {
            Val v = need(i);
            Tensor t = v.init() != null && v.init().floats() != null
                    ? Tensor.of(v.init().floats(), v.shape())
                    : Tensor.of(Nd.floats(v.values()), v.shape());
            tensors.add(t);
            return t;
        }

        /** Output 0 is input 0 plus input 1, both computed and of one shape: the library's {@code add}. */
        void add() {
            runtimeOut(0, shape(0));
            steps.add(new Planned(node, "add", in -> new Tensor[] {in[0].add(in[1])}));
        }
    }
}
