package dev.onednn4j.benchmarks;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A one-node ONNX model, {@code y = Conv(x, W, B)}, with the weights as initializers, written in
 * protobuf's wire format from the field numbers of onnx.proto (ONNX IR version 8, opset 13).
 */
public final class OnnxConvModel {

    // onnx.proto field numbers
    private static final int MODEL_IR_VERSION = 1;
    private static final int MODEL_PRODUCER_NAME = 2;
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_OPSET_IMPORT = 8;
    private static final int OPSET_DOMAIN = 1;
    private static final int OPSET_VERSION = 2;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int ATTR_NAME = 1;
    private static final int ATTR_I = 3;
    private static final int ATTR_INTS = 8;
    private static final int ATTR_TYPE = 20;
    private static final int ATTR_TYPE_INT = 2;
    private static final int ATTR_TYPE_INTS = 7;
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_FLOAT = 1;
    private static final int VALUE_INFO_NAME = 1;
    private static final int VALUE_INFO_TYPE = 2;
    private static final int TYPE_TENSOR_TYPE = 1;
    private static final int TYPE_TENSOR_ELEM_TYPE = 1;
    private static final int TYPE_TENSOR_SHAPE = 2;
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1;

    private OnnxConvModel() {}

    /** The serialised model for {@code shape}, input "x" and output "y". */
    public static byte[] conv(Shape s, float[] weights, float[] bias) {
        Message node = new Message()
                .string(NODE_INPUT, "x")
                .string(NODE_INPUT, "W")
                .string(NODE_INPUT, "B")
                .string(NODE_OUTPUT, "y")
                .string(NODE_NAME, "conv")
                .string(NODE_OP_TYPE, "Conv")
                .message(NODE_ATTRIBUTE, ints("kernel_shape", s.kernel(), s.kernel()))
                .message(NODE_ATTRIBUTE, ints("strides", s.stride(), s.stride()))
                .message(NODE_ATTRIBUTE, ints("pads", s.pad(), s.pad(), s.pad(), s.pad()))
                .message(NODE_ATTRIBUTE, ints("dilations", s.dilation(), s.dilation()))
                .message(
                        NODE_ATTRIBUTE,
                        new Message()
                                .string(ATTR_NAME, "group")
                                .int64(ATTR_I, s.groups())
                                .int64(ATTR_TYPE, ATTR_TYPE_INT));
        Message graph = new Message()
                .message(GRAPH_NODE, node)
                .string(GRAPH_NAME, "conv2d")
                .message(GRAPH_INITIALIZER, tensor("W", weights, s.weightShape()))
                .message(GRAPH_INITIALIZER, tensor("B", bias, s.outC()))
                .message(GRAPH_INPUT, valueInfo("x", s.inputShape()))
                .message(GRAPH_OUTPUT, valueInfo("y", s.outputShape()));
        return new Message()
                .int64(MODEL_IR_VERSION, 8)
                .string(MODEL_PRODUCER_NAME, "onednn4j-benchmarks")
                .message(
                        MODEL_OPSET_IMPORT,
                        new Message().string(OPSET_DOMAIN, "").int64(OPSET_VERSION, 13))
                .message(MODEL_GRAPH, graph)
                .bytes();
    }

    private static Message ints(String name, long... values) {
        Message a = new Message().string(ATTR_NAME, name).int64(ATTR_TYPE, ATTR_TYPE_INTS);
        for (long v : values) {
            a.int64(ATTR_INTS, v);
        }
        return a;
    }

    private static Message tensor(String name, float[] values, long... dims) {
        Message t = new Message();
        for (long d : dims) {
            t.int64(TENSOR_DIMS, d);
        }
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        return t.int64(TENSOR_DATA_TYPE, TENSOR_FLOAT).string(TENSOR_NAME, name).raw(TENSOR_RAW_DATA, raw.array());
    }

    private static Message valueInfo(String name, long... dims) {
        Message shape = new Message();
        for (long d : dims) {
            shape.message(SHAPE_DIM, new Message().int64(DIM_VALUE, d));
        }
        Message tensorType =
                new Message().int64(TYPE_TENSOR_ELEM_TYPE, TENSOR_FLOAT).message(TYPE_TENSOR_SHAPE, shape);
        return new Message()
                .string(VALUE_INFO_NAME, name)
                .message(VALUE_INFO_TYPE, new Message().message(TYPE_TENSOR_TYPE, tensorType));
    }

    /** A protobuf message being written, field by field. */
    private static final class Message {
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private final CodedOutputStream out = CodedOutputStream.newInstance(buffer);

        Message int64(int field, long value) {
            try {
                out.writeInt64(field, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Message string(int field, String value) {
            try {
                out.writeString(field, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Message raw(int field, byte[] value) {
            try {
                out.writeByteArray(field, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Message message(int field, Message m) {
            return raw(field, m.bytes());
        }

        byte[] bytes() {
            try {
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return buffer.toByteArray();
        }
    }
}
