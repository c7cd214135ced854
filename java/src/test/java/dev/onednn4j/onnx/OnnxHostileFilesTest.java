package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and hostile ONNX files get an {@link IllegalArgumentException} that says what is wrong, and nothing
 * else: no other exception, no file outside the model's folder read. Models are built here with the generated
 * protobuf classes, then broken one rule at a time, or mutated at random (truncations, bit flips).
 */
class OnnxHostileFilesTest {
    @TempDir
    Path tmp;

    /** x[1, 2, 4, 4] -> Conv(w[3, 2, 3, 3], b[3], pad 1) -> Relu -> y[1, 3, 4, 4]. */
    static Onnx.ModelProto.Builder model() {
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .setName("g")
                .addInput(info("x", 1, 2, 4, 4))
                .addOutput(info("y", 1, 3, 4, 4))
                .addInitializer(floats("w", new float[54], 3, 2, 3, 3))
                .addInitializer(floats("b", new float[] {0.5f, -1, 2}, 3))
                .addNode(Onnx.NodeProto.newBuilder()
                        .setName("conv")
                        .setOpType("Conv")
                        .addInput("x")
                        .addInput("w")
                        .addInput("b")
                        .addOutput("c")
                        .addAttribute(ints("pads", 1, 1, 1, 1))
                        .addAttribute(ints("kernel_shape", 3, 3)))
                .addNode(Onnx.NodeProto.newBuilder()
                        .setName("relu")
                        .setOpType("Relu")
                        .addInput("c")
                        .addOutput("y"));
        return Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g);
    }

    static Onnx.ValueInfoProto info(String name, long... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder()
                .setName(name)
                .setType(Onnx.TypeProto.newBuilder()
                        .setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                                .setElemType(1)
                                .setShape(s)))
                .build();
    }

    static Onnx.TensorProto floats(String name, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        Onnx.TensorProto.Builder t =
                Onnx.TensorProto.newBuilder().setName(name).setDataType(1).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static Onnx.AttributeProto ints(String name, long... v) {
        Onnx.AttributeProto.Builder a =
                Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static String refusal(Onnx.ModelProto m) {
        return assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(m.toByteArray()))
                .getMessage();
    }

    static Onnx.ModelProto edit(UnaryOperator<Onnx.GraphProto.Builder> f) {
        Onnx.ModelProto.Builder m = model();
        m.setGraph(f.apply(m.getGraph().toBuilder()));
        return m.build();
    }

    @Test
    void theValidModelLoadsAndRunsFromBytesAndStreams() throws Exception {
        byte[] bytes = model().build().toByteArray();
        for (OnnxModel m : List.of(OnnxModel.load(bytes), OnnxModel.load(new ByteArrayInputStream(bytes)))) {
            try (m;
                    Tensor x = Tensor.zeros(1, 2, 4, 4);
                    Tensor y = m.forward(x)) {
                assertEquals(List.of("w", "b"), List.copyOf(m.stateDict().keySet()));
                float[] out = y.toFloatArray();
                assertEquals(0.5f, out[0]); // zero weights: relu(bias)
                assertEquals(0f, out[16]);
                assertEquals(2f, out[47]);
                String wrongShape = assertThrows(
                                IllegalArgumentException.class, () -> m.forward(Tensor.zeros(1, 3, 4, 4)))
                        .getMessage();
                assertEquals("input 'x' has shape [1, 3, 4, 4]; the model declares [1, 2, 4, 4]", wrongShape);
            }
        }
    }

    @Test
    void eachBrokenRuleIsNamed() {
        assertTrue(refusal(Onnx.ModelProto.newBuilder().setIrVersion(8).build()).contains("it has no graph"));
        assertTrue(refusal(model().clearOpsetImport()
                        .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(9))
                        .build())
                .contains("uses opset 9 of ai.onnx; onednn4j reads opsets 11 to 21"));
        String cycle = refusal(edit(g -> g.setNode(0, g.getNode(0).toBuilder().setInput(0, "y"))));
        assertTrue(cycle.contains("has a cycle: 2 nodes wait on each other"), cycle);
        String dangling =
                refusal(edit(g -> g.setNode(1, g.getNode(1).toBuilder().setInput(0, "nowhere"))));
        assertEquals(
                "node 'relu' (Relu) reads 'nowhere', which no node computes and is neither a graph input nor an "
                        + "initializer",
                dangling);
        String twice = refusal(edit(g -> g.setNode(1, g.getNode(1).toBuilder().setOutput(0, "c"))));
        assertTrue(twice.contains("value 'c' is computed twice"), twice);
        String huge = refusal(edit(g -> g.setInitializer(
                0, g.getInitializer(0).toBuilder().clearDims().addAllDims(List.of(1L << 20, 1L << 20, 1L << 30)))));
        assertTrue(huge.contains("more than 2147483639 elements"), huge);
        String negative = refusal(
                edit(g -> g.setInitializer(0, g.getInitializer(0).toBuilder().setDims(1, -2))));
        assertTrue(negative.contains("negative dimension: [3, -2, 3, 3]"), negative);
        String length = refusal(
                edit(g -> g.setInitializer(1, g.getInitializer(1).toBuilder().setDims(0, 4))));
        assertEquals("initializer 'b': its shape [4] of float needs 16 bytes of data, but raw_data holds 12", length);
        String dim = refusal(edit(g -> g.setInput(0, info("x", 1, -5, 4, 4))));
        assertTrue(dim.contains("declares dimension 1 of size -5"), dim);
        String op = refusal(edit(g -> g.setNode(1, g.getNode(1).toBuilder().setOpType("NonMaxSuppression"))));
        assertTrue(op.startsWith("the ONNX model (4") || op.contains("uses op onednn4j does not support"), op);
        assertTrue(
                op.contains("NonMaxSuppression (first at node 'relu' (NonMaxSuppression); opset 17). "
                        + "Supported (ai.onnx): Abs, Add,"),
                op);
        String domain = refusal(edit(g -> g.setNode(1, g.getNode(1).toBuilder().setDomain("com.microsoft"))));
        assertTrue(domain.contains("com.microsoft.Relu"), domain);
        String notTensor = refusal(edit(g -> g.setInput(
                0,
                Onnx.ValueInfoProto.newBuilder()
                        .setName("x")
                        .setType(Onnx.TypeProto.newBuilder().setDenotation("seq"))
                        .build())));
        assertTrue(notTensor.contains("graph input 'x' is not a tensor"), notTensor);
        String notFloat = refusal(edit(g -> g.setInput(
                0,
                info("x", 1, 2, 4, 4).toBuilder()
                        .setType(Onnx.TypeProto.newBuilder()
                                .setTensorType(
                                        Onnx.TypeProto.Tensor.newBuilder().setElemType(7)))
                        .build())));
        assertTrue(notFloat.contains("takes input x: int64[?]; onednn4j runs models whose inputs are float"), notFloat);
        // a field of the wrong wire type: the graph (field 7) written as a varint
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(new byte[] {0x38, 0x01}))
                .getMessage()
                .contains("no graph"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(new byte[] {0x3a, 0x7f, 1}))
                .getMessage()
                .contains("the protobuf does not parse"));
    }

    @Test
    void externalDataIsReadOnlyFromTheModelsFolder() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        float[] w = new float[54];
        Arrays.fill(w, 0.25f);
        ByteBuffer b = ByteBuffer.allocate(8 + 54 * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0);
        for (float v : w) {
            b.putFloat(v);
        }
        Files.write(dir.resolve("weights.bin"), b.array());
        Files.write(tmp.resolve("secret.bin"), b.array());
        Files.createSymbolicLink(dir.resolve("link.bin"), tmp.resolve("secret.bin"));
        for (String location : new String[] {
            "weights.bin",
            "../secret.bin",
            tmp.resolve("secret.bin").toString(),
            "link.bin",
            "missing.bin",
            "sub/../../secret.bin"
        }) {
            Onnx.ModelProto m = edit(g -> g.setInitializer(
                    0,
                    Onnx.TensorProto.newBuilder()
                            .setName("w")
                            .setDataType(1)
                            .addAllDims(List.of(3L, 2L, 3L, 3L))
                            .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", location))
                            .addExternalData(entry("offset", "8"))
                            .addExternalData(entry("length", "216"))));
            Path file = dir.resolve("model.onnx");
            Files.write(file, m.toByteArray());
            if (location.equals("weights.bin")) {
                try (OnnxModel model = OnnxModel.load(file)) {
                    assertEquals(0.25f, model.stateDict().get("w").get(2, 1, 2, 2));
                }
                String fromBytes = refusal(m);
                assertTrue(fromBytes.contains("was loaded from bytes or a stream, which have no folder"), fromBytes);
                continue;
            }
            String msg = assertThrows(IllegalArgumentException.class, () -> OnnxModel.load(file))
                    .getMessage();
            String expected = location.equals("missing.bin")
                    ? "does not exist in the model's folder"
                    : "leaves the model's folder";
            assertTrue(msg.contains(expected), location + ": " + msg);
        }
    }

    static Onnx.StringStringEntryProto entry(String k, String v) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    /**
     * Every prefix of a valid model and 3,000 random byte mutations of it: each either loads (and then runs or
     * refuses its input with an IllegalArgumentException) or is refused with an IllegalArgumentException.
     */
    @Test
    void truncationsAndBitFlipsAreRefusedCleanly() {
        byte[] valid = model().build().toByteArray();
        int[] counts = mutated(valid, 3000, 17);
        int loaded = counts[0];
        int refused = counts[1];
        System.out.printf(
                "ONNX mutations: %d cases, %d loaded, %d refused with a message%n", loaded + refused, loaded, refused);
        assertEquals(valid.length + 3000, loaded + refused);
        assertTrue(refused > 100 && loaded > 100, "loaded " + loaded + ", refused " + refused);
    }

    /**
     * Loads every prefix of {@code valid} and {@code random} random byte mutations of it: each must either load (and
     * then run or refuse its input with an exception that has a message) or be refused with an
     * IllegalArgumentException that has one. Returns {loaded, refused}.
     */
    static int[] mutated(byte[] valid, int random, long seed) {
        int loaded = 0;
        int refused = 0;
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < valid.length + random; i++) {
            byte[] bytes;
            if (i < valid.length) {
                bytes = Arrays.copyOf(valid, i);
            } else {
                bytes = valid.clone();
                int flips = 1 + rng.nextInt(3);
                for (int f = 0; f < flips; f++) {
                    int at = rng.nextInt(bytes.length);
                    bytes[at] = rng.nextBoolean() ? (byte) (bytes[at] ^ (1 << rng.nextInt(8))) : (byte) rng.nextInt();
                }
            }
            try (OnnxModel m = OnnxModel.load(bytes)) {
                loaded++;
                for (var in : m.inputs()) {
                    long[] s = in.shape() == null
                            ? new long[] {1, 2, 4, 4}
                            : in.shape().clone();
                    for (int d = 0; d < s.length; d++) {
                        s[d] = s[d] < 0 || s[d] > 64 ? 1 : s[d];
                    }
                    try (Tensor x = Tensor.zeros(s)) {
                        m.forward(Map.of(in.name(), x)).values().forEach(Tensor::close);
                    } catch (IllegalArgumentException | IllegalStateException e) {
                        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), e.toString());
                    }
                }
            } catch (IllegalArgumentException e) {
                refused++;
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), e.toString());
            }
        }
        return new int[] {loaded, refused};
    }
}
