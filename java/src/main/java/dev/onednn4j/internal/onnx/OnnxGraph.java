package dev.onednn4j.internal.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model as the library reads it: a general graph of nodes with any number of inputs and outputs, its
 * constants (initializers) and its declared inputs and outputs, already checked by {@link OnnxReader} (every name
 * defined once and before use, nodes in an order that computes each value before it is read, shapes and data
 * lengths that agree). Plain data: nothing here holds native memory.
 *
 * @param opset       the default domain's opset version ({@code ai.onnx})
 * @param producer    the exporter's name and version, for messages
 * @param nodes       in an order where every node's inputs are computed before it
 * @param initializers constants by name
 * @param inputs      the graph inputs that are not initializers, in declaration order
 * @param outputs     the graph outputs, in declaration order
 * @param metadata    the model's metadata properties (e.g. class labels), in file order
 */
public record OnnxGraph(
        long opset,
        String producer,
        List<Node> nodes,
        Map<String, Data> initializers,
        List<ValueInfo> inputs,
        List<ValueInfo> outputs,
        Map<String, String> metadata) {

    /** ONNX's element types that the library reads (TensorProto.DataType's numbers). */
    public static final int FLOAT = 1;

    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int UINT16 = 4;
    public static final int INT16 = 5;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int BOOL = 9;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int UINT32 = 12;
    public static final int UINT64 = 13;
    public static final int BFLOAT16 = 16;

    /** ONNX's name of an element type, for messages. */
    public static String typeName(int elemType) {
        return switch (elemType) {
            case FLOAT -> "float";
            case UINT8 -> "uint8";
            case INT8 -> "int8";
            case UINT16 -> "uint16";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case BOOL -> "bool";
            case FLOAT16 -> "float16";
            case DOUBLE -> "double";
            case UINT32 -> "uint32";
            case UINT64 -> "uint64";
            case BFLOAT16 -> "bfloat16";
            default -> "type " + elemType;
        };
    }

    /** Whether values of {@code elemType} are held as floats (else as integers). */
    public static boolean isFloat(int elemType) {
        return elemType == FLOAT || elemType == FLOAT16 || elemType == DOUBLE || elemType == BFLOAT16;
    }

    /**
     * A declared graph input or output.
     *
     * @param name     the value's name
     * @param elemType ONNX's element type, 0 if undeclared
     * @param dims     each dimension's size, -1 where it is dynamic (or the rank is unknown: then null)
     * @param dimNames each dimension's symbolic name where the file gives one (e.g. {@code batch}), else null
     */
    @SuppressWarnings("ArrayRecordComponent") // plain data read from the file, never compared
    public record ValueInfo(String name, int elemType, long[] dims, String[] dimNames) {
        @Override
        public String toString() {
            StringBuilder s = new StringBuilder(name)
                    .append(": ")
                    .append(typeName(elemType))
                    .append('[');
            if (dims == null) {
                s.append("?");
            } else {
                for (int i = 0; i < dims.length; i++) {
                    s.append(i > 0 ? ", " : "")
                            .append(dims[i] >= 0 ? Long.toString(dims[i]) : dimNames[i] != null ? dimNames[i] : "?");
                }
            }
            return s.append(']').toString();
        }
    }

    /**
     * A constant: an initializer, a Constant node's value or a tensor attribute. Floating-point types are held as
     * float32 values ({@code floats}), integer and boolean types as {@code longs}; exactly one is non-null.
     */
    @SuppressWarnings("ArrayRecordComponent") // plain data read from the file, never compared
    public record Data(String name, int elemType, long[] shape, float[] floats, long[] longs) {
        /** The number of elements. */
        public int numel() {
            return floats != null ? floats.length : longs.length;
        }

        /** The values as doubles, row-major. */
        public double[] toDoubles() {
            double[] d = new double[numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = floats != null ? floats[i] : longs[i];
            }
            return d;
        }

        @Override
        public String toString() {
            return name + ": " + typeName(elemType) + Arrays.toString(shape);
        }
    }

    /** An attribute of a node: one of its fields is set, as its {@code type} says. */
    @SuppressWarnings("ArrayRecordComponent") // plain data read from the file, never compared
    public record Attribute(
            String name,
            Type type,
            float f,
            long i,
            String s,
            Data t,
            float[] floats,
            long[] ints,
            List<String> strings) {
        /** ONNX's attribute types that the library reads. */
        public enum Type {
            FLOAT,
            INT,
            STRING,
            TENSOR,
            FLOATS,
            INTS,
            STRINGS,
            /** A graph, sparse tensor or type: present in the file, read by no supported op. */
            OTHER
        }
    }

    /**
     * A node. Optional inputs that the file leaves out are empty names.
     *
     * @param index the node's position in the file (for messages)
     */
    public record Node(
            int index,
            String name,
            String opType,
            String domain,
            List<String> inputs,
            List<String> outputs,
            Map<String, Attribute> attributes) {
        /** How messages name the node: its name (or its position when unnamed) and its op type. */
        public String describe() {
            return (name.isEmpty() ? "#" + index : "'" + name + "'") + " (" + opType + ")";
        }
    }
}
