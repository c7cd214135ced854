package dev.onednn4j.internal.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.onednn4j.internal.onnx.OnnxGraph.Attribute;
import dev.onednn4j.internal.onnx.OnnxGraph.Data;
import dev.onednn4j.internal.onnx.OnnxGraph.Node;
import dev.onednn4j.internal.onnx.OnnxGraph.ValueInfo;
import dev.onednn4j.onnxproto.Onnx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX model (protobuf, parsed by protobuf-java from classes protoc generates from ONNX's schema) into an
 * {@link OnnxGraph}, checking everything a hostile or damaged file could get wrong before anything else sees it:
 * truncated or corrupt protobuf, missing or mistyped fields, dimensions that are negative or too large,
 * initializers whose data disagrees with their shape, names used before or without being defined, values defined
 * twice, cycles, external data outside the model's folder. Each problem is an {@link IllegalArgumentException}
 * naming the rule, the place (tensor, node) and the values.
 */
public final class OnnxReader {
    /** The opsets of the default domain this reader accepts. */
    public static final long MIN_OPSET = 11;

    public static final long MAX_OPSET = 21;

    /** The largest number of elements of one tensor (Java arrays hold the values while loading). */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** The largest rank of a declared or constant tensor. */
    static final int MAX_RANK = 16;

    private final Path folder;

    private OnnxReader(Path folder) {
        this.folder = folder;
    }

    /**
     * Reads a model file; external data files are read from its folder, never outside it.
     *
     * @throws IllegalArgumentException if the file is not a valid ONNX model, with the reason
     * @throws UncheckedIOException     if the file cannot be read
     */
    public static OnnxGraph read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the ONNX model " + file + ": " + e.getMessage(), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return new OnnxReader(dir).parse(bytes, file.toString());
    }

    /**
     * Reads a model from its bytes; {@code folder} is where its external data lives (null: a model with external
     * data is refused).
     */
    public static OnnxGraph read(byte[] bytes, Path folder, String source) {
        return new OnnxReader(folder == null ? null : folder.toAbsolutePath()).parse(bytes, source);
    }

    private OnnxGraph parse(byte[] bytes, String source) {
        Onnx.ModelProto model;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setRecursionLimit(64);
            model = Onnx.ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(
                    "not a valid ONNX model (" + source + "): the protobuf does not parse: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "not a valid ONNX model (" + source + "): the protobuf does not parse: " + e, e);
        }
        if (!model.hasGraph()) {
            throw new IllegalArgumentException("not a valid ONNX model (" + source + "): it has no graph ("
                    + bytes.length + " bytes; is it an ONNX file?)");
        }
        long opset = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = o.getVersion();
            }
        }
        if (opset < 0) {
            throw new IllegalArgumentException(
                    "the ONNX model (" + source + ") imports no opset of the default domain (ai.onnx)");
        }
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "the ONNX model (%s) uses opset %d of ai.onnx; onednn4j reads opsets %d to %d (re-export it, "
                            + "e.g. torch.onnx.export(..., opset_version=17), or convert it with "
                            + "onnx.version_converter)",
                    source,
                    opset,
                    MIN_OPSET,
                    MAX_OPSET));
        }
        String producer = (model.getProducerName() + " " + model.getProducerVersion()).trim();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Onnx.StringStringEntryProto e : model.getMetadataPropsList()) {
            metadata.put(e.getKey(), e.getValue());
        }
        return graph(model.getGraph(), opset, producer, Collections.unmodifiableMap(metadata));
    }

    private OnnxGraph graph(Onnx.GraphProto g, long opset, String producer, Map<String, String> metadata) {
        Map<String, Data> initializers = new LinkedHashMap<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            Data d = data(t, "initializer '" + t.getName() + "'");
            if (t.getName().isEmpty()) {
                throw new IllegalArgumentException(
                        "an initializer has no name (shape " + Arrays.toString(d.shape()) + ")");
            }
            if (initializers.put(t.getName(), d) != null) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' is defined twice");
            }
        }
        List<ValueInfo> inputs = new ArrayList<>();
        Set<String> defined = new HashSet<>(initializers.keySet());
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (initializers.containsKey(v.getName())) {
                continue; // an initializer listed as an input too (older exporters): a constant here
            }
            ValueInfo vi = valueInfo(v, "graph input");
            if (!defined.add(vi.name())) {
                throw new IllegalArgumentException("graph input '" + vi.name() + "' is declared twice");
            }
            inputs.add(vi);
        }
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("the ONNX graph has no input (other than its initializers)");
        }
        List<ValueInfo> outputs = new ArrayList<>();
        for (Onnx.ValueInfoProto v : g.getOutputList()) {
            outputs.add(valueInfo(v, "graph output"));
        }
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("the ONNX graph has no output");
        }
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            nodes.add(node(g.getNode(i), i));
        }
        List<Node> ordered = order(nodes, defined);
        Set<String> all = new HashSet<>(defined);
        for (Node n : ordered) {
            all.addAll(n.outputs());
        }
        for (ValueInfo o : outputs) {
            if (!all.contains(o.name())) {
                throw new IllegalArgumentException(
                        "graph output '" + o.name() + "' is not computed by any node nor an input or initializer");
            }
        }
        return new OnnxGraph(
                opset,
                producer,
                List.copyOf(ordered),
                Collections.unmodifiableMap(initializers),
                List.copyOf(inputs),
                List.copyOf(outputs),
                metadata);
    }

    /**
     * The nodes in an order that computes every value before it is read (the file's order where it already does),
     * refusing names read but never defined, values defined twice, and cycles.
     */
    private static List<Node> order(List<Node> nodes, Set<String> defined) {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : nodes) {
            for (String o : n.outputs()) {
                if (o.isEmpty()) {
                    continue;
                }
                if (defined.contains(o)) {
                    throw new IllegalArgumentException(
                            "node " + n.describe() + " writes '" + o + "', which is a graph input or an initializer");
                }
                Node before = producer.put(o, n);
                if (before != null) {
                    throw new IllegalArgumentException("value '" + o + "' is computed twice: by node "
                            + before.describe() + " and by node " + n.describe());
                }
            }
        }
        Map<Node, Integer> waiting = new HashMap<>();
        Map<String, List<Node>> readers = new HashMap<>();
        for (Node n : nodes) {
            int count = 0;
            for (String in : new LinkedHashSet<>(n.inputs())) {
                if (in.isEmpty() || defined.contains(in)) {
                    continue;
                }
                if (!producer.containsKey(in)) {
                    throw new IllegalArgumentException("node " + n.describe() + " reads '" + in
                            + "', which no node computes and is neither a graph input nor an initializer");
                }
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                count++;
            }
            waiting.put(n, count);
        }
        Deque<Node> ready = new ArrayDeque<>();
        for (Node n : nodes) {
            if (waiting.get(n) == 0) {
                ready.add(n);
            }
        }
        List<Node> out = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = ready.poll();
            out.add(n);
            for (String o : n.outputs()) {
                for (Node r : readers.getOrDefault(o, List.of())) {
                    if (waiting.merge(r, -1, Integer::sum) == 0) {
                        ready.add(r);
                    }
                }
            }
        }
        if (out.size() < nodes.size()) {
            List<String> stuck = new ArrayList<>();
            for (Node n : nodes) {
                if (waiting.get(n) > 0 && stuck.size() < 5) {
                    stuck.add(n.describe());
                }
            }
            throw new IllegalArgumentException("the ONNX graph has a cycle: " + (nodes.size() - out.size())
                    + " nodes wait on each other, among them " + String.join(", ", stuck));
        }
        return out;
    }

    private Node node(Onnx.NodeProto n, int index) {
        String label = (n.getName().isEmpty() ? "#" + index : "'" + n.getName() + "'") + " (" + n.getOpType() + ")";
        if (n.getOpType().isEmpty()) {
            throw new IllegalArgumentException("node #" + index + " has no op_type");
        }
        if (n.getOutputCount() == 0) {
            throw new IllegalArgumentException("node " + label + " has no output");
        }
        Map<String, Attribute> attributes = new LinkedHashMap<>();
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            Attribute attr = attribute(a, label);
            if (attributes.put(attr.name(), attr) != null) {
                throw new IllegalArgumentException("node " + label + " has attribute '" + attr.name() + "' twice");
            }
        }
        return new Node(
                index,
                n.getName(),
                n.getOpType(),
                n.getDomain(),
                List.copyOf(n.getInputList()),
                List.copyOf(n.getOutputList()),
                Collections.unmodifiableMap(attributes));
    }

    private Attribute attribute(Onnx.AttributeProto a, String node) {
        String where = "attribute '" + a.getName() + "' of node " + node;
        Attribute.Type type = switch (a.getType()) {
            case FLOAT -> Attribute.Type.FLOAT;
            case INT -> Attribute.Type.INT;
            case STRING -> Attribute.Type.STRING;
            case TENSOR -> Attribute.Type.TENSOR;
            case FLOATS -> Attribute.Type.FLOATS;
            case INTS -> Attribute.Type.INTS;
            case STRINGS -> Attribute.Type.STRINGS;
            case UNDEFINED -> throw new IllegalArgumentException(where + " has no type");
            default -> Attribute.Type.OTHER;
        };
        if (a.getName().isEmpty()) {
            throw new IllegalArgumentException("an attribute of node " + node + " has no name");
        }
        float[] floats = new float[a.getFloatsCount()];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = a.getFloats(i);
        }
        long[] ints = new long[a.getIntsCount()];
        for (int i = 0; i < ints.length; i++) {
            ints[i] = a.getInts(i);
        }
        List<String> strings = new ArrayList<>();
        for (ByteString s : a.getStringsList()) {
            strings.add(s.toStringUtf8());
        }
        Data t = null;
        if (type == Attribute.Type.TENSOR) {
            if (!a.hasT()) {
                throw new IllegalArgumentException(where + " is of type TENSOR but holds no tensor");
            }
            t = data(a.getT(), where);
        }
        return new Attribute(
                a.getName(), type, a.getF(), a.getI(), a.getS().toStringUtf8(), t, floats, ints, List.copyOf(strings));
    }

    private static ValueInfo valueInfo(Onnx.ValueInfoProto v, String what) {
        if (v.getName().isEmpty()) {
            throw new IllegalArgumentException("a " + what + " has no name");
        }
        Onnx.TypeProto.Tensor t = v.getType().getTensorType();
        if (v.hasType() && !v.getType().hasTensorType()) {
            throw new IllegalArgumentException(
                    what + " '" + v.getName() + "' is not a tensor (sequences, maps and optionals are not supported)");
        }
        if (!t.hasShape()) {
            return new ValueInfo(v.getName(), t.getElemType(), null, null);
        }
        int rank = t.getShape().getDimCount();
        if (rank > MAX_RANK) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "%s '%s' has rank %d; at most %d is supported", what, v.getName(), rank, MAX_RANK));
        }
        long[] dims = new long[rank];
        String[] names = new String[rank];
        for (int i = 0; i < rank; i++) {
            Onnx.TensorShapeProto.Dimension d = t.getShape().getDim(i);
            if (d.hasDimValue()) {
                dims[i] = d.getDimValue();
                if (dims[i] < 0 || dims[i] > MAX_ELEMENTS) {
                    throw new IllegalArgumentException(String.format(
                            Locale.ROOT,
                            "%s '%s' declares dimension %d of size %d; sizes must be 0 to %d",
                            what,
                            v.getName(),
                            i,
                            dims[i],
                            MAX_ELEMENTS));
                }
            } else {
                dims[i] = -1;
                names[i] = d.hasDimParam() && !d.getDimParam().isEmpty() ? d.getDimParam() : null;
            }
        }
        return new ValueInfo(v.getName(), t.getElemType(), dims, names);
    }

    /** A tensor's values, checked against its shape and type; external data read from the model's folder. */
    private Data data(Onnx.TensorProto t, String what) {
        int rank = t.getDimsCount();
        if (rank > MAX_RANK) {
            throw new IllegalArgumentException(
                    String.format(Locale.ROOT, "%s has rank %d; at most %d is supported", what, rank, MAX_RANK));
        }
        long[] shape = new long[rank];
        long numel = 1;
        for (int i = 0; i < rank; i++) {
            shape[i] = t.getDims(i);
            if (shape[i] < 0) {
                throw new IllegalArgumentException(
                        String.format(Locale.ROOT, "%s has a negative dimension: %s", what, t.getDimsList()));
            }
            numel = shape[i] == 0 || numel == 0 ? 0 : multiply(numel, shape[i], what, t);
        }
        int type = t.getDataType();
        int size = elementSize(type, what);
        ByteBuffer raw = null;
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            raw = external(t, what, numel * size);
        } else if (t.hasRawData()) {
            raw = t.getRawData().asReadOnlyByteBuffer();
            if (raw.remaining() != numel * size) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%s: its shape %s of %s needs %d bytes of data, but raw_data holds %d",
                        what,
                        Arrays.toString(shape),
                        OnnxGraph.typeName(type),
                        numel * size,
                        raw.remaining()));
            }
        }
        int n = (int) numel;
        if (raw != null) {
            raw = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
            return fromRaw(t.getName(), type, shape, n, raw);
        }
        return fromFields(t, what, type, shape, n);
    }

    private static long multiply(long numel, long dim, String what, Onnx.TensorProto t) {
        try {
            long r = Math.multiplyExact(numel, dim);
            if (r > MAX_ELEMENTS) {
                throw new ArithmeticException();
            }
            return r;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "%s has shape %s: more than %d elements", what, t.getDimsList(), MAX_ELEMENTS));
        }
    }

    private static int elementSize(int type, String what) {
        return switch (type) {
            case OnnxGraph.FLOAT, OnnxGraph.INT32, OnnxGraph.UINT32 -> 4;
            case OnnxGraph.DOUBLE, OnnxGraph.INT64, OnnxGraph.UINT64 -> 8;
            case OnnxGraph.FLOAT16, OnnxGraph.BFLOAT16, OnnxGraph.INT16, OnnxGraph.UINT16 -> 2;
            case OnnxGraph.INT8, OnnxGraph.UINT8, OnnxGraph.BOOL -> 1;
            default ->
                throw new IllegalArgumentException(
                        what + " has element type " + OnnxGraph.typeName(type) + ", which onednn4j does not read "
                                + "(float, double, float16, bfloat16 and the integer and bool types)");
        };
    }

    private static Data fromRaw(String name, int type, long[] shape, int n, ByteBuffer b) {
        if (OnnxGraph.isFloat(type)) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = switch (type) {
                    case OnnxGraph.FLOAT -> b.getFloat(i * 4);
                    case OnnxGraph.DOUBLE -> (float) b.getDouble(i * 8);
                    case OnnxGraph.FLOAT16 -> Float.float16ToFloat(b.getShort(i * 2));
                    default -> Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16); // bfloat16
                };
            }
            return new Data(name, type, shape, f, null);
        }
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = switch (type) {
                case OnnxGraph.INT64, OnnxGraph.UINT64 -> b.getLong(i * 8);
                case OnnxGraph.INT32 -> b.getInt(i * 4);
                case OnnxGraph.UINT32 -> b.getInt(i * 4) & 0xffffffffL;
                case OnnxGraph.INT16 -> b.getShort(i * 2);
                case OnnxGraph.UINT16 -> b.getShort(i * 2) & 0xffff;
                case OnnxGraph.INT8 -> b.get(i);
                case OnnxGraph.BOOL -> b.get(i) != 0 ? 1 : 0;
                default -> b.get(i) & 0xff; // uint8
            };
        }
        return new Data(name, type, shape, null, l);
    }

    /** Values stored in the typed fields (float_data, int32_data, int64_data, double_data, uint64_data). */
    private static Data fromFields(Onnx.TensorProto t, String what, int type, long[] shape, int n) {
        int have = switch (type) {
            case OnnxGraph.FLOAT -> t.getFloatDataCount();
            case OnnxGraph.DOUBLE -> t.getDoubleDataCount();
            case OnnxGraph.INT64 -> t.getInt64DataCount();
            case OnnxGraph.UINT32, OnnxGraph.UINT64 -> t.getUint64DataCount();
            default -> t.getInt32DataCount(); // int32, int16, int8, uint16, uint8, bool, float16, bfloat16
        };
        if (have != n) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s: its shape %s needs %d values, but the file holds %d",
                    what,
                    Arrays.toString(shape),
                    n,
                    have));
        }
        if (OnnxGraph.isFloat(type)) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = switch (type) {
                    case OnnxGraph.FLOAT -> t.getFloatData(i);
                    case OnnxGraph.DOUBLE -> (float) t.getDoubleData(i);
                    case OnnxGraph.FLOAT16 -> Float.float16ToFloat((short) t.getInt32Data(i));
                    default -> Float.intBitsToFloat((t.getInt32Data(i) & 0xffff) << 16);
                };
            }
            return new Data(t.getName(), type, shape, f, null);
        }
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = switch (type) {
                case OnnxGraph.INT64 -> t.getInt64Data(i);
                case OnnxGraph.UINT32, OnnxGraph.UINT64 -> t.getUint64Data(i);
                case OnnxGraph.BOOL -> t.getInt32Data(i) != 0 ? 1 : 0;
                default -> t.getInt32Data(i);
            };
        }
        return new Data(t.getName(), type, shape, null, l);
    }

    /** The external data file {@code location} names, refused unless it is a regular file inside the folder. */
    private Path inside(String location, String what) {
        String refused = what + ": external data location '" + location + "' leaves the model's folder " + folder
                + "; refused (only files inside it are read)";
        Path rel;
        try {
            rel = Path.of(location);
        } catch (java.nio.file.InvalidPathException e) {
            throw new IllegalArgumentException(what + ": external data location '" + location + "' is not a path");
        }
        Path file = folder.resolve(rel).normalize();
        if (rel.isAbsolute() || !file.startsWith(folder.normalize())) {
            throw new IllegalArgumentException(refused);
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(
                    what + ": external data file '" + location + "' does not exist in the model's folder " + folder);
        }
        try {
            if (!file.toRealPath().startsWith(folder.toRealPath())) { // a link leading out
                throw new IllegalArgumentException(refused);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(what + ": cannot read external data '" + location + "': " + e, e);
        }
        return file;
    }

    /**
     * The bytes of a tensor stored in an external file: its {@code location} must name a regular file inside the
     * model's folder (no absolute path, no {@code ..} out of it, no link leading out), and {@code offset} and
     * {@code length} must fit in it.
     */
    private ByteBuffer external(Onnx.TensorProto t, String what, long bytes) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (Onnx.StringStringEntryProto e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> {}
                }
            } catch (NumberFormatException x) {
                throw new IllegalArgumentException(
                        what + ": external data " + e.getKey() + " is not a number: '" + e.getValue() + "'");
            }
        }
        if (location == null || location.isEmpty()) {
            throw new IllegalArgumentException(what + " is stored externally but names no location");
        }
        if (folder == null) {
            throw new IllegalArgumentException(what + " is stored in the external file '" + location
                    + "', but the model was loaded from bytes or a stream, which have no folder: load it with "
                    + "OnnxModel.load(Path), or give the folder");
        }
        Path file = inside(location, what);
        if (length < 0) {
            length = bytes;
        }
        if (length != bytes || offset < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s: its shape needs %d bytes, but its external data gives offset %d and length %d",
                    what,
                    bytes,
                    offset,
                    length));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (offset + length > ch.size()) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%s: external data '%s' holds %d bytes, fewer than offset %d + length %d",
                        what,
                        location,
                        ch.size(),
                        offset,
                        length));
            }
            ByteBuffer b = ByteBuffer.allocate((int) length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    throw new IOException("unexpected end of file");
                }
            }
            return b.flip();
        } catch (IOException e) {
            throw new UncheckedIOException(what + ": cannot read external data '" + location + "': " + e, e);
        }
    }
}
