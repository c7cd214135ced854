package dev.onednn4j.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Identity;
import dev.onednn4j.nn.MaxPool2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.TorchvisionFixtures.Fixture;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * torchvision's ResNet-18, ResNet-50 and MobileNetV2 against PyTorch itself: the same module tree and state-dict
 * keys, the same repr, and the same logits within a stated tolerance, with weights and BatchNorm statistics from
 * a seeded generator both sides implement (see {@link TorchvisionFixtures}), plus one state dict saved by
 * torchvision and loaded as it is.
 *
 * <h2>The tolerance</h2>
 * {@code max |logit - PyTorch's float64 logit| <= 1e-4 * max |PyTorch's logit|}. Why this, and why it proves
 * something: each layer rounds once per term of its sums, so a float32 network differs from its float64 twin by
 * about {@code sqrt(n) * u} per layer relative to its activations (u = 2^-24, n up to 4,608 terms here: about
 * 4e-6), and these errors add up over the 20 to 53 layers and the residual paths to some 1e-5 to 1e-4 in the worst
 * case (the deterministic worst-case bound, {@code gamma(n)} per layer compounded, is 1e-2 and too loose to catch
 * anything). What is measured here is about 1e-6 (printed). Meanwhile every plausible porting mistake moves the
 * logits by 1e-2 or more: {@link #everyPortingMistakeFailsTheCheck} shows a dropped BatchNorm, a wrong eps, an
 * off-by-one pooling window and a residual added after the ReLU instead of before each failing it.
 */
class ModelsTest {

    static final double TOLERANCE = 1e-4;

    static Stream<String> generated() {
        return Stream.of(
                "resnet18-2x224", "resnet18-1x160", "resnet50-2x224", "mobilenet_v2-2x224", "mobilenet_v2-1x160");
    }

    /** The model a fixture names, as Models builds it, with BatchNorm built by {@code normLayer}. */
    static Module build(Fixture f, IntFunction<Module> normLayer) {
        int classes = Integer.parseInt(f.metadata().get("num_classes"));
        return switch (f.metadata().get("model")) {
            case "resnet18" ->
                new ResNet(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, classes, normLayer, new SplittableRandom(1));
            case "resnet50" ->
                new ResNet(
                        ResNet.Block.BOTTLENECK, new int[] {3, 4, 6, 3}, classes, normLayer, new SplittableRandom(1));
            case "mobilenet_v2" ->
                new MobileNetV2(
                        classes,
                        Double.parseDouble(f.metadata().get("width_mult")),
                        0.2,
                        normLayer,
                        new SplittableRandom(1));
            default -> throw new AssertionError(f.metadata().get("model"));
        };
    }

    static Module build(Fixture f) {
        return switch (f.metadata().get("model")) {
            case "resnet18" -> Models.resnet18(Integer.parseInt(f.metadata().get("num_classes")));
            case "resnet50" -> Models.resnet50(Integer.parseInt(f.metadata().get("num_classes")));
            case "mobilenet_v2" ->
                Models.mobilenetV2(
                        Integer.parseInt(f.metadata().get("num_classes")),
                        Double.parseDouble(f.metadata().get("width_mult")));
            default -> throw new AssertionError(f.metadata().get("model"));
        };
    }

    /** Loads the generator's weights (strictly, or leniently for a mutated tree) and puts the model in eval mode. */
    static void loadGenerated(Module net, Fixture f, boolean strict) {
        Map<String, Tensor> weights = TorchvisionFixtures.stateDict(net.stateDict(), f.seed(), f.generator());
        try {
            net.loadStateDict(weights, strict);
        } finally {
            weights.values().forEach(Tensor::close);
        }
        net.eval();
    }

    /** max |got - expected| / max |expected|. */
    static double relativeError(float[] got, double[] expected) {
        assertEquals(expected.length, got.length);
        double scale = 0;
        double err = 0;
        for (int i = 0; i < got.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(got[i] - expected[i]));
        }
        assertTrue(scale > 0.1, "logits of a meaningful scale: " + scale);
        return err / scale;
    }

    static float[] run(Module net, Fixture f, MemoryFormat format) {
        try (Tensor x = TorchvisionFixtures.input(f);
                Tensor in = x.toMemoryFormat(format);
                Tensor y = net.forward(in)) {
            assertArrayEquals(f.outputShape(), y.shape());
            return y.toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generated")
    void treeNamesAndReprAreTorchvisions(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        try (Module net = build(f)) {
            List<String> ours = new ArrayList<>();
            for (var e : net.stateDict().entrySet()) {
                Tensor t = e.getValue();
                ours.add(e.getKey() + " " + java.util.Arrays.toString(t.shape()) + " "
                        + (t.dtype() == DType.INT64 ? "I64" : "F32"));
            }
            List<String> theirs = new ArrayList<>();
            for (JsonElement k : JsonParser.parseString(f.keys()).getAsJsonArray()) {
                var o = k.getAsJsonObject();
                theirs.add(o.get("name").getAsString() + " "
                        + o.get("shape").toString().replace(",", ", ") + " "
                        + o.get("dtype").getAsString());
            }
            assertEquals(theirs, ours, "torchvision's state-dict keys, in order, with shapes and dtypes");
            assertEquals(f.repr(), net.toString(), "torchvision's repr");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generated")
    void theGeneratorGivesPythonsBits(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        try (Module net = build(f)) {
            Map<String, Tensor> w = TorchvisionFixtures.stateDict(net.stateDict(), f.seed(), f.generator());
            try {
                for (var e : w.entrySet()) {
                    assertEquals(
                            Long.parseUnsignedLong(f.checksums().get(e.getKey()).getAsString()),
                            TorchvisionFixtures.checksum(e.getValue()),
                            e.getKey());
                }
            } finally {
                w.values().forEach(Tensor::close);
            }
            try (Tensor x = TorchvisionFixtures.input(f)) {
                assertEquals(
                        Long.parseUnsignedLong(f.checksums().get("input").getAsString()),
                        TorchvisionFixtures.checksum(x),
                        "input");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generated")
    void oneDnnMatchesPyTorchsFloat64Logits(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        try (Module net = build(f)) {
            loadGenerated(net, f, true);
            for (MemoryFormat format : MemoryFormat.values()) {
                double err = relativeError(run(net, f, format), f.output());
                System.out.printf(Locale.ROOT, "%s, oneDNN, %s: max error %.2e of max |logit|%n", name, format, err);
                assertTrue(
                        err <= TOLERANCE,
                        String.format(
                                Locale.ROOT,
                                "%s, %s: max error %.3e of the logits' scale, tolerance %.0e",
                                name,
                                format,
                                err,
                                TOLERANCE));
            }
        }
    }

    /** The whole tree on the plain Java loops (slow, so on the two smaller inputs). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("smallOnes")
    void referenceBackendMatchesPyTorchsFloat64Logits(String name) throws Exception {
        Fixture f = TorchvisionFixtures.load(name);
        try (Module net = build(f)) {
            loadGenerated(net, f, true);
            net.to(Backend.REFERENCE);
            double err = relativeError(run(net, f, MemoryFormat.CONTIGUOUS), f.output());
            System.out.printf(Locale.ROOT, "%s, reference: max error %.2e of max |logit|%n", name, err);
            assertTrue(err <= TOLERANCE, name + ": " + err);
        }
    }

    static Stream<String> smallOnes() {
        return Stream.of("resnet18-1x160", "mobilenet_v2-1x160");
    }

    /** A state dict saved by torchvision (torch's own init, BatchNorm statistics randomized), loaded as it is. */
    @Test
    void aStateDictSavedByTorchvisionLoadsStrictlyAndMatches() throws Exception {
        float[] got;
        double[] expected;
        try (MobileNetV2 net = Models.mobilenetV2(10, 0.5);
                SafeTensors weights =
                        SafeTensors.load(TorchvisionFixtures.dir().resolve("mobilenet_v2-w0.5-c10.safetensors"));
                SafeTensors data =
                        SafeTensors.load(TorchvisionFixtures.dir().resolve("mobilenet_v2-w0.5-c10-io.safetensors"))) {
            assertEquals(
                    DType.INT64,
                    weights.tensors().get("features.0.1.num_batches_tracked").dtype());
            assertEquals(
                    0, weights.tensors().get("features.0.1.num_batches_tracked").dim(), "0-d, as saved");
            Module.LoadResult r = net.loadStateDict(weights.tensors(), true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            assertEquals(
                    weights.tensors()
                            .get("features.5.conv.1.1.num_batches_tracked")
                            .getLong(),
                    net.stateDict()
                            .get("features.5.conv.1.1.num_batches_tracked")
                            .getLong());
            net.eval();
            expected = data.tensors().get("output").toDoubleArray();
            try (Tensor y = net.forward(data.tensors().get("input"))) {
                got = y.toFloatArray();
            }
        }
        double err = relativeError(got, expected);
        System.out.printf(Locale.ROOT, "mobilenet_v2 w0.5 c10 from torchvision's state dict: max error %.2e%n", err);
        assertTrue(err <= TOLERANCE, "max error " + err);
    }

    /** A ResNet whose blocks add the residual after the ReLU instead of before: a plausible porting mistake. */
    static final class ReluBeforeAdd extends ResNet {
        ReluBeforeAdd(int classes) {
            super(Block.BASIC, new int[] {2, 2, 2, 2}, classes, BatchNorm2d::new, new SplittableRandom(1));
        }

        @Override
        protected Module newBlock(
                Block block,
                int inplanes,
                int planes,
                int stride,
                Module downsample,
                IntFunction<? extends Module> normLayer) {
            return new BasicBlock(inplanes, planes, stride, downsample, normLayer) {
                @Override
                public Tensor forward(Tensor x) {
                    Tensor out = chain(x, "conv1", "bn1", "relu", "conv2", "bn2", "relu");
                    boolean hasDownsample = namedChildren().containsKey("downsample");
                    try (Tensor identity =
                            hasDownsample ? getSubmodule("downsample").forward(x) : null) {
                        return out.add_(identity == null ? x : identity);
                    }
                }
            };
        }
    }

    @Test
    void everyPortingMistakeFailsTheCheck() throws Exception {
        Fixture f = TorchvisionFixtures.load("resnet18-1x160");
        Map<String, java.util.function.Supplier<Module>> mistakes = new java.util.LinkedHashMap<>();
        mistakes.put("a dropped BatchNorm (layer2.0.bn2 replaced by Identity)", () -> {
            Module net = build(f, BatchNorm2d::new);
            loadGenerated(net, f, true);
            net.setSubmodule("layer2.0.bn2", new Identity()).close();
            return net;
        });
        mistakes.put("a wrong eps (1e-3, TensorFlow's default, instead of 1e-5)", () -> {
            Module net = build(f, c -> BatchNorm2d.builder(c).eps(1e-3).build());
            loadGenerated(net, f, true);
            return net;
        });
        mistakes.put("an off-by-one pooling window (max pool 2x2 stride 2 instead of 3x3 stride 2 padding 1)", () -> {
            Module net = build(f, BatchNorm2d::new);
            loadGenerated(net, f, true);
            net.setSubmodule("maxpool", MaxPool2d.builder(2).stride(2).build()).close();
            return net;
        });
        mistakes.put("a swapped residual (the ReLU before the addition instead of after)", () -> {
            Module net = new ReluBeforeAdd(1000);
            loadGenerated(net, f, true);
            return net;
        });
        try (Module right = build(f, BatchNorm2d::new)) {
            loadGenerated(right, f, true);
            double err = relativeError(run(right, f, MemoryFormat.CHANNELS_LAST), f.output());
            assertTrue(err <= TOLERANCE, "the unmutated model passes: " + err);
        }
        for (var m : mistakes.entrySet()) {
            try (Module wrong = m.getValue().get()) {
                double err = relativeError(run(wrong, f, MemoryFormat.CHANNELS_LAST), f.output());
                System.out.printf(
                        Locale.ROOT,
                        "%s: max error %.2e of max |logit| (%.0fx the tolerance)%n",
                        m.getKey(),
                        err,
                        err / TOLERANCE);
                assertTrue(err > TOLERANCE, m.getKey() + " passes the check (error " + err + "): it proves nothing");
            }
        }
    }

    @Test
    void aNewModelIsInTrainingModeAndSaysToCallEval() {
        try (ResNet net = Models.resnet18();
                Tensor x = Tensor.zeros(1, 3, 32, 32)) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> net.forward(x));
            assertTrue(e.getMessage().contains("call eval()"), e.getMessage());
            net.eval();
            try (Tensor y = net.forward(x)) {
                assertArrayEquals(new long[] {1, 1000}, y.shape());
            }
        }
    }
}
