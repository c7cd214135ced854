package dev.onednn4j.onnx;

import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.onnx.OnnxReader;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Module;
import dev.onednn4j.onnx.Resolution.Planned;
import dev.onednn4j.onnx.Resolution.Val;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model read from an ONNX file, run by onednn4j: a drop-in for ONNX Runtime's {@code OrtSession} on the same
 * file.
 *
 * <pre>{@code
 * try (OnnxModel model = OnnxModel.load(Path.of("resnet18.onnx"));
 *         Tensor x = Tensor.of(pixels, 1, 3, 224, 224);
 *         Tensor logits = model.forward(x)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Loading reads and checks the whole file (protobuf parsed by protobuf-java; external data read from the
 * model's folder only) and refuses any op outside {@link #supportedOps()} at once, naming it, its node and the
 * opset. On the first call with given input shapes the graph is resolved: every value's shape is inferred, the
 * shape computations exporters write ({@code Shape -> Gather -> Concat -> Reshape}, masks, weight transposes) are
 * folded into constants, and the remaining nodes become the library's layers (convolution, batch norm, pooling,
 * linear, activations: oneDNN primitives, or their reference loops after {@code to(Backend.REFERENCE)}) or plain
 * Java loops (the other ops, for now). Resolutions are kept per input shapes (at most 8, least recently used
 * dropped) and rebuilt when the initializers change ({@code loadStateDict}).
 *
 * <p>Activations compute in float32 (integer and bool values must be constants once shapes are known). The model
 * is in eval mode from the start: an ONNX graph is an inference graph, and {@code train()} changes nothing in it.
 * {@link #stateDict()} holds the initializers by their ONNX names, as float32 or int64 tensors.
 * {@link #compile(dev.onednn4j.nn.CompileOptions)} works where every remaining node is a layer, a same-shape add
 * or a reshape (ResNets, VGG, MobileNetV2 and the like); elsewhere it fails naming the first node it cannot
 * compile yet.
 */
public final class OnnxModel extends Module {
    private static final int MAX_RESOLUTIONS = 8;

    /**
     * A declared input or output of the model.
     *
     * @param name  its name in the file
     * @param dtype its element type, or null if the file gives one onednn4j has no dtype for
     * @param shape each dimension's size, -1 where it is dynamic; null if the file gives no shape
     * @param dims  each dimension as the file writes it: a number, or the name of a dynamic dimension ({@code batch})
     */
    @SuppressWarnings("ArrayRecordComponent") // a description, never compared
    public record ValueInfo(String name, DType dtype, long[] shape, List<String> dims) {
        @Override
        public String toString() {
            return name + ": " + (dtype == null ? "?" : dtype) + (dims == null ? "[?]" : dims.toString());
        }
    }

    private final OnnxGraph graph;
    private final String source;
    private final Map<String, Tensor> initializers = new LinkedHashMap<>();
    private final List<ValueInfo> inputs;
    private final List<ValueInfo> outputs;
    private final LinkedHashMap<String, Resolution> resolutions = new LinkedHashMap<>(16, 0.75f, true);
    private long resolvedStamp = Long.MIN_VALUE;

    private OnnxModel(OnnxGraph read, String source) {
        OnnxGraph graph = QOperators.toQdq(read, source);
        this.source = source;
        Set<String> unsupported = new TreeSet<>();
        String first = null;
        for (OnnxGraph.Node n : graph.nodes()) {
            boolean known = n.domain().isEmpty() || n.domain().equals("ai.onnx");
            if (!known || !OnnxOps.supported().contains(n.opType())) {
                String type = known ? n.opType() : n.domain() + "." + n.opType();
                if (unsupported.isEmpty()) {
                    first = n.describe();
                }
                unsupported.add(type);
            }
        }
        if (!unsupported.isEmpty()) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "the ONNX model %s uses op%s onednn4j does not support: %s (first at node %s; opset %d). "
                            + "Supported (ai.onnx): %s; quantized operators (QOperator form): %s",
                    source,
                    unsupported.size() > 1 ? "s" : "",
                    String.join(", ", unsupported),
                    first,
                    graph.opset(),
                    OnnxOps.list(),
                    String.join(", ", QOperators.SUPPORTED)));
        }
        graph = Fusions.apply(graph);
        this.graph = graph;
        List<ValueInfo> in = new ArrayList<>();
        for (OnnxGraph.ValueInfo v : graph.inputs()) {
            if (v.elemType() != OnnxGraph.FLOAT && v.elemType() != 0) {
                throw new IllegalArgumentException("the ONNX model " + source + " takes input " + v + "; onednn4j "
                        + "runs models whose inputs are float tensors");
            }
            in.add(info(v));
        }
        List<ValueInfo> out = new ArrayList<>();
        for (OnnxGraph.ValueInfo v : graph.outputs()) {
            out.add(info(v));
        }
        this.inputs = List.copyOf(in);
        this.outputs = List.copyOf(out);
        try {
            registerInitializers();
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        eval();
    }

    private static ValueInfo info(OnnxGraph.ValueInfo v) {
        List<String> dims = null;
        if (v.dims() != null) {
            dims = new ArrayList<>();
            for (int i = 0; i < v.dims().length; i++) {
                dims.add(
                        v.dims()[i] >= 0
                                ? Long.toString(v.dims()[i])
                                : v.dimNames()[i] != null ? v.dimNames()[i] : "?");
            }
            dims = List.copyOf(dims);
        }
        return new ValueInfo(
                v.name(),
                dtype(v.elemType()),
                v.dims() == null ? null : v.dims().clone(),
                dims);
    }

    private static DType dtype(int elemType) {
        return switch (elemType) {
            case OnnxGraph.FLOAT -> DType.FLOAT32;
            case OnnxGraph.DOUBLE -> DType.FLOAT64;
            case OnnxGraph.FLOAT16 -> DType.FLOAT16;
            case OnnxGraph.BFLOAT16 -> DType.BFLOAT16;
            case OnnxGraph.INT64 -> DType.INT64;
            case OnnxGraph.INT32 -> DType.INT32;
            case OnnxGraph.INT16 -> DType.INT16;
            case OnnxGraph.INT8 -> DType.INT8;
            case OnnxGraph.UINT8 -> DType.UINT8;
            case OnnxGraph.BOOL -> DType.BOOL;
            default -> null;
        };
    }

    /**
     * The initializers as this module's state: each registered under its ONNX name, as a buffer of the module
     * path its dotted name gives (so {@link #stateDict()} is keyed by the initializer names).
     */
    private void registerInitializers() {
        Map<String, Holder> holders = new HashMap<>();
        for (var e : graph.initializers().entrySet()) {
            String name = e.getKey();
            OnnxGraph.Data d = e.getValue();
            Tensor t = d.floats() != null ? Tensor.of(d.floats(), d.shape()) : Tensor.of(d.longs(), d.shape());
            String[] parts = name.split("\\.", -1);
            boolean nested = parts.length > 1;
            for (String p : parts) {
                nested &= !p.isEmpty();
            }
            if (!nested) {
                parts = new String[] {name};
            }
            Module owner = this;
            StringBuilder path = new StringBuilder();
            for (int i = 0; i < parts.length - 1; i++) {
                path.append(i > 0 ? "." : "").append(parts[i]);
                Module parent = owner;
                String key = path.toString();
                String child = parts[i];
                Holder h = holders.get(key);
                if (h == null) {
                    h = new Holder();
                    if (parent.equals(this)) {
                        registerModule(child, h);
                    } else {
                        ((Holder) parent).add(child, h);
                    }
                    holders.put(key, h);
                }
                owner = h;
            }
            try {
                if (owner.equals(this)) {
                    registerBuffer(parts[parts.length - 1], t);
                } else {
                    ((Holder) owner).buffer(parts[parts.length - 1], t);
                }
            } catch (IllegalArgumentException x) {
                t.close();
                throw new IllegalArgumentException(
                        "initializer '" + name + "' clashes with another initializer's " + "name (" + x.getMessage()
                                + ")",
                        x);
            }
            initializers.put(name, t);
        }
    }

    /** A node of the initializer tree: holds buffers and children, computes nothing. */
    private static final class Holder extends Module {
        void add(String name, Module m) {
            registerModule(name, m);
        }

        void buffer(String name, Tensor t) {
            registerBuffer(name, t);
        }

        @Override
        public Tensor forward(Tensor input) {
            throw new UnsupportedOperationException("holds initializers of an ONNX model; it computes nothing");
        }
    }

    // ---- loading ---------------------------------------------------------------------------------

    /**
     * Reads an ONNX model file; weights in external data files are read from its folder (never outside it).
     *
     * @param file the {@code .onnx} file
     * @return the model, in eval mode; close it to free its native memory
     * @throws IllegalArgumentException if the file is not a valid ONNX model or uses an unsupported op, saying why
     * @throws UncheckedIOException     if it cannot be read
     */
    public static OnnxModel load(Path file) {
        Objects.requireNonNull(file, "file");
        return new OnnxModel(OnnxReader.read(file), file.toString());
    }

    /**
     * Reads an ONNX model from its bytes (a model with external data needs {@link #load(Path)}).
     *
     * @param bytes the file's contents
     * @return the model, in eval mode; close it to free its native memory
     * @throws IllegalArgumentException if the bytes are not a valid ONNX model or use an unsupported op
     */
    public static OnnxModel load(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        return new OnnxModel(OnnxReader.read(bytes, null, "bytes"), "(" + bytes.length + " bytes)");
    }

    /**
     * Reads an ONNX model from a stream, to its end; the stream stays open.
     *
     * @param in the stream
     * @return the model, in eval mode; close it to free its native memory
     * @throws IllegalArgumentException if the stream does not hold a valid ONNX model or uses an unsupported op
     * @throws UncheckedIOException     if the stream cannot be read
     */
    public static OnnxModel load(InputStream in) {
        Objects.requireNonNull(in, "in");
        try {
            return load(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the ONNX model from the stream: " + e.getMessage(), e);
        }
    }

    // ---- description -------------------------------------------------------------------------------

    /**
     * The model's inputs (not its initializers), in the file's order.
     *
     * @return their names, dtypes and dimensions
     */
    public List<ValueInfo> inputs() {
        return inputs;
    }

    /**
     * The model's outputs, in the file's order.
     *
     * @return their names, dtypes and dimensions
     */
    public List<ValueInfo> outputs() {
        return outputs;
    }

    /**
     * The opset of the default domain the file was exported with.
     *
     * @return the {@code ai.onnx} opset version, 11 to 21
     */
    public long opset() {
        return graph.opset();
    }

    /**
     * The model's metadata properties (e.g. class labels an exporter stored), in the file's order.
     *
     * @return an unmodifiable map
     */
    public Map<String, String> metadata() {
        return graph.metadata();
    }

    /**
     * The op types of the default domain that onednn4j runs, sorted: those it runs as they are, and the quantized
     * operators it rewrites into QuantizeLinear/DequantizeLinear around the float op ({@code QLinearConv},
     * {@code QLinearMatMul}; com.microsoft's {@code QLinearAdd}, {@code QGemm}, ... are read too).
     *
     * @return an unmodifiable set of op type names ({@code Conv}, {@code Gemm}, ...)
     */
    public static Set<String> supportedOps() {
        Set<String> all = new TreeSet<>(OnnxOps.supported());
        QOperators.SUPPORTED.stream().filter(t -> !t.contains(".")).forEach(all::add);
        return java.util.Collections.unmodifiableSet(all);
    }

    @Override
    public String extraRepr() {
        return String.format(
                Locale.ROOT,
                "%s, opset %d, %d nodes, inputs %s, outputs %s",
                source,
                graph.opset(),
                graph.nodes().size(),
                inputs,
                outputs);
    }

    // ---- running -------------------------------------------------------------------------------------

    /**
     * Runs a model of one input and one output.
     *
     * @param input float32, of the declared shape (dynamic dimensions any size); stays the caller's
     * @return the output, a new tensor the caller closes
     * @throws IllegalArgumentException if the model has several inputs or outputs (use {@link #forward(Map)}), or
     *     the input does not fit
     */
    @Override
    public Tensor forward(Tensor input) {
        if (inputs.size() != 1 || outputs.size() != 1) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "forward(Tensor) runs a model of one input and one output; this one has %d inputs %s and %d "
                            + "outputs %s: use forward(Map)",
                    inputs.size(),
                    inputs,
                    outputs.size(),
                    outputs));
        }
        Map<String, Tensor> out = forward(Map.of(inputs.get(0).name(), input));
        return out.get(outputs.get(0).name());
    }

    /**
     * Runs the model on inputs by name.
     *
     * @param feeds every input of {@link #inputs()} by name: float32 tensors of the declared shapes; they stay the
     *     caller's
     * @return every output by name, in {@link #outputs()}'s order: new tensors the caller closes
     * @throws IllegalArgumentException if an input is missing, unknown, of another dtype or shape (naming it)
     */
    public Map<String, Tensor> forward(Map<String, Tensor> feeds) {
        ensureOpen();
        Objects.requireNonNull(feeds, "feeds");
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ValueInfo v : inputs) {
            Tensor t = feeds.get(v.name());
            if (t == null) {
                throw new IllegalArgumentException(
                        "missing input '" + v.name() + "' (" + v + "); the model's inputs: " + inputs);
            }
            if (t.dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException(
                        "input '" + v.name() + "' must be float32, got " + t.dtype() + " (" + v + ")");
            }
            long[] s = t.shape();
            if (v.shape() != null) {
                boolean fits = s.length == v.shape().length;
                for (int i = 0; fits && i < s.length; i++) {
                    fits = v.shape()[i] < 0 || v.shape()[i] == s[i];
                }
                if (!fits) {
                    throw new IllegalArgumentException(String.format(
                            Locale.ROOT,
                            "input '%s' has shape %s; the model declares %s",
                            v.name(),
                            Arrays.toString(s),
                            v.dims()));
                }
            }
            shapes.put(v.name(), s);
        }
        for (String k : feeds.keySet()) {
            if (!shapes.containsKey(k)) {
                throw new IllegalArgumentException("unknown input '" + k + "'; the model's inputs: " + inputs);
            }
        }
        Resolution r = resolution(shapes);
        return run(r, feeds);
    }

    private synchronized Resolution resolution(Map<String, long[]> shapes) {
        long stamp = 0;
        for (Tensor t : initializers.values()) {
            stamp = stamp * 31 + t.version();
        }
        if (stamp != resolvedStamp) { // initializers changed (loadStateDict, copyFrom): resolve again
            clearResolutions();
            resolvedStamp = stamp;
        }
        StringBuilder key = new StringBuilder(backend().name()).append('/').append(numThreads());
        shapes.forEach((k, v) -> key.append('/').append(k).append(Arrays.toString(v)));
        Resolution r = resolutions.get(key.toString());
        if (r == null) {
            r = Resolution.resolve(withCurrentInitializers(), shapes, backend(), numThreads());
            resolutions.put(key.toString(), r);
            if (resolutions.size() > MAX_RESOLUTIONS) {
                var eldest = resolutions.entrySet().iterator().next();
                eldest.getValue().close();
                resolutions.remove(eldest.getKey());
            }
        }
        return r;
    }

    /** The graph with its initializers' current values (they may have been loaded since reading the file). */
    private OnnxGraph withCurrentInitializers() {
        Map<String, OnnxGraph.Data> now = new LinkedHashMap<>();
        for (var e : graph.initializers().entrySet()) {
            OnnxGraph.Data d = e.getValue();
            Tensor t = initializers.get(e.getKey());
            now.put(
                    e.getKey(),
                    d.floats() != null
                            ? new OnnxGraph.Data(d.name(), d.elemType(), d.shape(), t.toFloatArray(), null)
                            : new OnnxGraph.Data(d.name(), d.elemType(), d.shape(), null, t.toLongArray()));
        }
        return new OnnxGraph(
                graph.opset(), graph.producer(), graph.nodes(), now, graph.inputs(), graph.outputs(), graph.metadata());
    }

    private Map<String, Tensor> run(Resolution r, Map<String, Tensor> feeds) {
        Map<String, Integer> lastUse = new HashMap<>();
        for (int s = 0; s < r.steps.size(); s++) {
            for (String in : r.steps.get(s).node().inputs()) {
                lastUse.put(in, s);
            }
        }
        Set<String> keep = new HashSet<>();
        for (ValueInfo o : outputs) {
            keep.add(o.name());
        }
        Map<String, Tensor> env = new HashMap<>(feeds);
        IdentityHashMap<Tensor, Boolean> owned = new IdentityHashMap<>();
        boolean done = false;
        try {
            for (int s = 0; s < r.steps.size(); s++) {
                Planned p = r.steps.get(s);
                List<String> names = p.node().inputs();
                Tensor[] in = new Tensor[names.size()];
                for (int i = 0; i < in.length; i++) {
                    Val v = names.get(i).isEmpty() ? null : r.values.get(names.get(i));
                    in[i] = v == null || v.isConst() ? null : env.get(names.get(i));
                }
                Tensor[] out = p.step().run(in);
                for (int i = 0; i < out.length; i++) {
                    String name = p.node().outputs().get(i);
                    if (name.isEmpty()) {
                        out[i].close();
                    } else {
                        env.put(name, out[i]);
                        owned.put(out[i], true);
                    }
                }
                for (String name : names) { // free what no later step reads
                    Tensor t = env.get(name);
                    if (t != null && owned.containsKey(t) && lastUse.get(name) == s && !keep.contains(name)) {
                        t.close();
                        owned.remove(t);
                        env.remove(name);
                    }
                }
            }
            Map<String, Tensor> result = new LinkedHashMap<>();
            for (ValueInfo o : outputs) {
                Val v = r.values.get(o.name());
                Tensor t;
                if (v.isConst()) {
                    t = Tensor.of(Nd.floats(v.values()), v.shape());
                } else {
                    t = env.get(o.name());
                    if (!owned.containsKey(t)) { // an input passed through: a new handle the caller may close
                        t = t.reshape(t.shape());
                    } else {
                        owned.remove(t);
                    }
                }
                result.put(o.name(), t);
            }
            done = true;
            return result;
        } finally {
            for (Tensor t : owned.keySet()) {
                if (!done || !t.isClosed()) {
                    t.close();
                }
            }
        }
    }

    // ---- module hooks -------------------------------------------------------------------------------

    @Override
    protected void backendChanged(Backend newBackend) {
        synchronized (this) {
            clearResolutions(); // resolutions are made for one backend
        }
    }

    @Override
    public Module train(boolean mode) {
        return super.train(false); // an ONNX graph is an inference graph
    }

    private void clearResolutions() {
        for (Resolution r : resolutions.values()) {
            r.close();
        }
        resolutions.clear();
    }

    @Override
    protected void release() {
        synchronized (this) {
            clearResolutions();
        }
    }
}
