package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.memory.ElementType;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.GraphOp;
import dev.onednn4j.internal.op.Operation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The record of one forward pass, as {@code torch.jit.trace} makes it: every operation the library's layers and
 * tensor methods ran, in order, on which values. Tensors are recognised by the memory they occupy: an operation
 * that writes in place (an in-place activation, {@code add_}) makes a new value in the same memory, and a view
 * of another shape ({@code flatten} of contiguous memory) becomes a reshape of the value there. Operations record
 * instead of computing; a tensor whose values are read or written by anything else, or that no recorded
 * operation produced, fails the trace with an error naming the operation and the last layer recorded.
 */
public final class Trace implements AutoCloseable {

    /** A tensor of the traced forward pass: its logical shape. */
    @SuppressWarnings("ArrayRecordComponent") // identified by id; the shape is never compared through the record
    public record Value(int id, long[] shape) {
        @Override
        public String toString() {
            return "%" + id + Arrays.toString(shape);
        }
    }

    /** What a node computes. */
    public enum Kind {
        /** An {@link Operation} of a layer (or of a tensor method): one input, one output. */
        OP,
        /** {@code a + b}, same shapes. */
        ADD,
        /** The same values in another layout (a copy). */
        COPY,
        /** The same memory seen with another shape. */
        RESHAPE,
        /** A {@link GraphOp}: any number of inputs, one output. */
        GRAPH
    }

    /** One recorded step: {@code module} is the layer's path in the traced tree, or the tensor method's name. */
    public record Node(Kind kind, Operation op, String module, List<Value> inputs, Value output, GraphOp graph) {
        Node(Kind kind, Operation op, String module, List<Value> inputs, Value output) {
            this(kind, op, module, inputs, output, null);
        }

        @Override
        public String toString() {
            return output + " = "
                    + (kind == Kind.OP || kind == Kind.GRAPH
                            ? module
                            : kind.name().toLowerCase(Locale.ROOT)) + inputs;
        }
    }

    private final Map<Object, String> names;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<Long, Value> byAddress = new HashMap<>();
    private int nextId;
    private String last = "the start of forward";
    private Value input;

    private Trace(Map<Object, String> names) {
        this.names = names;
    }

    /**
     * Starts tracing on the calling thread.
     *
     * @param names the path of each module of the traced tree (the root's is its class name), for messages and the
     *     plan's description; keyed by identity
     */
    public static Trace begin(Map<Object, String> names) {
        Trace t = new Trace(names);
        Tracer.begin(t);
        return t;
    }

    /** The forward pass's input. */
    public Value input(TensorImpl x) {
        input = define(x);
        return input;
    }

    /** The traced input. */
    public Value input() {
        return input;
    }

    /** The recorded nodes, in the order they ran. */
    public List<Node> nodes() {
        return nodes;
    }

    /** A layer ran {@code op} from {@code in} into {@code out} ({@code out} may be {@code in}: in place). */
    public void op(Operation op, Object module, TensorImpl in, TensorImpl out) {
        String name = module == null
                ? "tensor op"
                : names.getOrDefault(module, module.getClass().getSimpleName());
        Value v = use(in, name);
        Value o = define(out);
        nodes.add(new Node(Kind.OP, op, name, List.of(v), o));
        last = name;
    }

    /** A tensor method ran {@code op} (e.g. {@code relu_}) from {@code in} into {@code out}. */
    public void tensorOp(Operation op, String method, TensorImpl in, TensorImpl out) {
        Value v = use(in, method);
        Value o = define(out);
        nodes.add(new Node(Kind.OP, op, "Tensor." + method, List.of(v), o));
        last = "Tensor." + method;
    }

    /** {@code op} ran on {@code in} (its computed inputs, in slot order) into {@code out}. */
    public void graphOp(GraphOp op, TensorImpl[] in, TensorImpl out) {
        List<Value> vs = new ArrayList<>();
        for (TensorImpl t : in) {
            vs.add(use(t, op.name()));
        }
        Value o = define(out);
        nodes.add(new Node(Kind.GRAPH, null, op.name(), List.copyOf(vs), o, op));
        last = op.name();
    }

    /** {@code out = a + b} ({@code out} may be {@code a}: {@code add_}). */
    public void add(TensorImpl a, TensorImpl b, TensorImpl out, String method) {
        Value x = use(a, method);
        Value y = use(b, method);
        Value o = define(out);
        nodes.add(new Node(Kind.ADD, null, "Tensor." + method, List.of(x, y), o));
        last = "Tensor." + method;
    }

    /** The forward pass returned {@code y}: its value (a reshape if a view of another shape). */
    public Value output(TensorImpl y) {
        return use(y, "the returned tensor");
    }

    boolean copy(TensorImpl from, TensorImpl to) {
        Value v = byAddress.get(address(from));
        if (v == null) {
            checkAccess(to, "copyFrom");
            return false;
        }
        if (from.dtype() != to.dtype()) {
            throw untraceable("Tensor.to(" + to.dtype() + ")", "converts a traced tensor to another dtype");
        }
        Value src = use(from, "copyFrom");
        Value o = define(to);
        nodes.add(new Node(Kind.COPY, null, "Tensor.copyFrom", List.of(src), o));
        return true;
    }

    void checkAccess(TensorImpl t, String what) {
        if (byAddress.containsKey(address(t))) {
            throw untraceable(
                    "Tensor." + what,
                    "reads or writes the values of a traced tensor " + Arrays.toString(t.shape())
                            + ", which do not exist while tracing");
        }
    }

    private IllegalStateException untraceable(String operation, String why) {
        return new IllegalStateException(String.format(
                Locale.ROOT,
                "compile: %s %s (after %s). A compiled module's forward may only run the library's layers and tensor "
                        + "operations (add, add_, relu, relu_, flatten, view, reshape): it cannot read tensor values, "
                        + "branch on them or call foreign code. Run that part outside the compiled module.",
                operation,
                why,
                last));
    }

    /** The value in {@code t}'s memory; a reshape node when {@code t} sees it with another shape. */
    private Value use(TensorImpl t, String operation) {
        if (t.dtype() != ElementType.FLOAT32) {
            throw untraceable(operation, "takes a " + t.dtype() + " tensor; compiled modules compute in float32");
        }
        Value v = byAddress.get(address(t));
        if (v == null) {
            throw untraceable(
                    operation,
                    "uses a tensor " + Arrays.toString(t.shape()) + " that no traced operation produced (created "
                            + "inside forward, or another tensor's memory)");
        }
        long[] shape = t.shapeRef();
        if (!Arrays.equals(shape, v.shape())) {
            Value r = new Value(nextId++, shape.clone());
            nodes.add(new Node(Kind.RESHAPE, null, operation, List.of(v), r));
            return r;
        }
        return v;
    }

    private Value define(TensorImpl t) {
        Value v = new Value(nextId++, t.shapeRef().clone());
        byAddress.put(address(t), v);
        return v;
    }

    private static long address(TensorImpl t) {
        return t.data().address();
    }

    @Override
    public void close() {
        Tracer.end(this);
    }
}
