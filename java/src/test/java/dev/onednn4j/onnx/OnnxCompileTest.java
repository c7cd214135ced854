package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnxproto.Onnx;
import dev.onednn4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code compile} on imported models: where every node that runs is a layer, a same-shape add or a reshape, the
 * compiled module (BatchNorm folding, post-ops, oneDNN's layouts, one slab) matches PyTorch's float64 output as the
 * eager run does; elsewhere compiling fails naming the first node it cannot compile yet.
 */
class OnnxCompileTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "conv_bn_relu",
                "residual",
                "mobilenet_v2",
                "densenet_tiny",
                "concat_pool",
                "squeeze_excite",
                "mobilenet_v3_small",
                "efficientnet_tiny",
                "regnet_tiny",
                "shufflenet_tiny",
                "shuffle",
                "upsample",
                "convnext_tiny_w",
                "vit_tiny",
                "swin_tiny_w",
                "transformer",
                "elementwise"
            })
    void compiledMatchesPyTorch(String name) throws Exception {
        Path dir = OnnxFixturesTest.dir();
        try (OnnxModel model = OnnxModel.load(dir.resolve(name + ".onnx"));
                SafeTensors io = SafeTensors.load(dir.resolve(name + "-io.safetensors"))) {
            for (String batch : new String[] {"", "_b3"}) {
                Tensor x = io.tensors().get("input" + batch);
                double[] expected = io.tensors().get("output" + batch).toDoubleArray();
                try (CompiledModule c = model.compile(CompileOptions.forInput(x.shape()));
                        Tensor y = c.forward(x)) {
                    double err = OnnxFixturesTest.relativeError(y.toDoubleArray(), expected);
                    assertTrue(
                            err <= OnnxFixturesTest.TOLERANCE,
                            String.format(Locale.ROOT, "%s%s: %.3g", name, batch, err));
                }
                if (!Dnnl.nativeBf16()) {
                    System.out.println("bf16 is not native on " + OneDnn.cpuIsa() + ": " + name + " in fp32 only");
                    continue;
                }
                try (CompiledModule c =
                                model.compile(CompileOptions.forInput(x.shape()).precision(Precision.BF16));
                        Tensor y = c.forward(x)) {
                    double[] got = y.toDoubleArray();
                    double err = OnnxFixturesTest.relativeError(got, expected);
                    System.out.printf(Locale.ROOT, "ONNX bf16 %s%s: %.3g%n", name, batch, err);
                    assertTrue(err <= BF16_TOLERANCE, String.format(Locale.ROOT, "bf16 %s%s: %.3g", name, batch, err));
                    long[] shape = y.shape();
                    if (shape.length == 2) { // logits: the same class wins for every image
                        int classes = (int) shape[1];
                        for (int i = 0; i < shape[0]; i++) {
                            assertEquals(
                                    argmax(expected, i * classes, classes),
                                    argmax(got, i * classes, classes),
                                    name + batch + " image " + i);
                        }
                    }
                }
            }
        }
    }

    static final double BF16_TOLERANCE = 3e-2;

    /**
     * ShuffleNet's channel shuffle (reshape, transpose, reshape) and split stay channels-last: the transpose reads
     * the concatenation's NHWC output as it lies and writes NHWC, the halves are NHWC blocks, and nothing goes through
     * a row-major copy and back.
     */
    @Test
    void aChannelShuffleStaysChannelsLast() throws Exception {
        Path dir = OnnxFixturesTest.dir();
        try (OnnxModel model = OnnxModel.load(dir.resolve("shufflenet_tiny.onnx"));
                SafeTensors io = SafeTensors.load(dir.resolve("shufflenet_tiny-io.safetensors"))) {
            Tensor x = io.tensors().get("input");
            try (CompiledModule c = model.compile(CompileOptions.forInput(x.shape()))) {
                String plan = c.toString();
                assertTrue(plan.contains("permute [0, 2, 1, 3, 4]"), plan);
                assertFalse(
                        plan.contains("a row-major layout for permute"), "no round trip before the shuffle:\n" + plan);
                assertFalse(plan.contains("a plain layout concat"), "the concatenation reads NHWC halves:\n" + plan);
            }
        }
    }

    /**
     * Swin's shifted-window mask: a constant {@code [1, nW, 1, N, N]} added to attention scores {@code [B, nW, heads,
     * N, N]}. oneDNN has only its reference loops for that broadcast as the dims stand (hundreds of times slower);
     * compiled and eager, the add reads merged dims (at B > 1 with the mask written out along the heads) on a
     * vectorized kernel, and gives {@code x + mask} to the last bit (one rounding, as here in float).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void anAttentionMaskAddRunsOnAVectorizedKernel(int batch) {
        long[] shape = {batch, 4, 3, 5, 5};
        SplittableRandom r = new SplittableRandom(batch);
        float[] mask = new float[4 * 25];
        float[] x = new float[batch * 4 * 3 * 25];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = r.nextBoolean() ? 0f : -100f;
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-3, 3);
        }
        // [B, nW, heads, N*N] + [1, nW, 1, N*N]
        float[] expected = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int window = i / (3 * 25) % 4;
            expected[i] = x[i] + mask[window * 25 + i % 25];
        }
        // compile takes a 4-D input: x [B, 12, 5, 5] -> Reshape [B, 4, 3, 5, 5] -> Add mask -> Reshape [B, 12, 5, 5]
        long[] image = {batch, 12, 5, 5};
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .setName("mask")
                .addInput(OnnxHostileFilesTest.info("x", image))
                .addOutput(OnnxHostileFilesTest.info("y", image))
                .addInitializer(OnnxHostileFilesTest.floats("mask", mask, 1, 4, 1, 5, 5))
                .addInitializer(shape("windows", shape))
                .addInitializer(shape("image", image))
                .addNode(OnnxQdqTest.node("Reshape", "s", "x", "windows"))
                .addNode(OnnxQdqTest.node("Add", "a", "s", "mask"))
                .addNode(OnnxQdqTest.node("Reshape", "y", "a", "image"));
        Onnx.ModelProto m = Onnx.ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g)
                .build();
        try (OnnxModel model = OnnxModel.load(m.toByteArray());
                Tensor in = Tensor.of(x, image);
                Tensor eager = model.forward(in);
                CompiledModule c = model.compile(CompileOptions.forInput(image));
                Tensor y = c.forward(in)) {
            assertArrayEquals(expected, eager.toFloatArray());
            assertArrayEquals(expected, y.toFloatArray());
            String plan = c.toString();
            assertTrue(plan.contains("add constant") && !plan.contains("ref:"), plan);
        }
    }

    /** An int64 initializer holding {@code dims} (a Reshape's target shape). */
    static Onnx.TensorProto shape(String name, long[] dims) {
        Onnx.TensorProto.Builder t =
                Onnx.TensorProto.newBuilder().setName(name).setDataType(7).addDims(dims.length);
        for (long d : dims) {
            t.addInt64Data(d);
        }
        return t.build();
    }

    static int argmax(double[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void aNodeWithNoCompiledFormIsNamed() {
        // x -> Erf -> y: an Erf outside the GELU pattern runs as a Java loop, which compiled graphs cannot hold
        Onnx.ModelProto.Builder m = OnnxHostileFilesTest.model();
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        g.setNode(1, g.getNode(1).toBuilder().setOpType("Erf").setName("erf"));
        m.setGraph(g);
        try (OnnxModel model = OnnxModel.load(m.build().toByteArray())) {
            RuntimeException e =
                    assertThrows(RuntimeException.class, () -> model.compile(CompileOptions.forInput(1, 2, 4, 4)));
            assertTrue(
                    e.getMessage().startsWith("compile: ONNX node 'erf' (Erf) has no compiled form yet"),
                    e.getMessage());
        }
    }
}
