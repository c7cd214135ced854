package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden fixtures computed by real PyTorch (scripts/make-torch-fixtures, {@code --only layers}): every option of
 * every layer, each file holding PyTorch's constructor arguments, the layer's state dict as PyTorch saved it (int64
 * {@code num_batches_tracked} included), an input, and PyTorch's output computed in float64. Each layer is built
 * from the arguments, loads the state dict strictly, and must land within its operation's bound of that output, on
 * oneDNN in both memory formats and on the reference backend.
 */
class LayerFixturesTest {

    static final Set<String> NOT_STATE = Set.of("input", "output", "output32");

    static Stream<Path> fixtures() throws IOException, URISyntaxException {
        Path dir = Path.of(LayerFixturesTest.class.getResource("/torch/layers").toURI());
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".safetensors"))
                    .sorted()
                    .toList();
        }
        assertTrue(files.size() >= 40, "at least 40 layer fixtures, found " + files.size());
        return files.stream();
    }

    static int[] pair(JsonObject c, String key) {
        var a = c.getAsJsonArray(key);
        return new int[] {a.get(0).getAsInt(), a.get(1).getAsInt()};
    }

    static Integer optional(JsonElement e) {
        return e == null || e.isJsonNull() ? null : e.getAsInt();
    }

    /** The layer PyTorch built with these arguments, built here with the same ones. */
    static Module build(JsonObject c) {
        String layer = c.get("layer").getAsString();
        boolean inplace = c.has("inplace") && c.get("inplace").getAsBoolean();
        return switch (layer) {
            case "BatchNorm2d" ->
                BatchNorm2d.builder(c.get("num_features").getAsInt())
                        .eps(c.get("eps").getAsDouble())
                        .momentum(c.get("momentum").getAsDouble())
                        .affine(c.get("affine").getAsBoolean())
                        .trackRunningStats(c.get("track_running_stats").getAsBoolean())
                        .build();
            case "ReLU" -> new ReLU(inplace);
            case "ReLU6" -> new ReLU6(inplace);
            case "LeakyReLU" -> new LeakyReLU(c.get("negative_slope").getAsDouble(), inplace);
            case "SiLU" -> new SiLU(inplace);
            case "GELU" -> new GELU(c.get("approximate").getAsString());
            case "Sigmoid" -> new Sigmoid();
            case "Tanh" -> new Tanh();
            case "Hardswish" -> new Hardswish(inplace);
            case "Hardsigmoid" -> new Hardsigmoid(inplace);
            case "MaxPool2d" -> {
                int[] k = pair(c, "kernel_size"),
                        s = pair(c, "stride"),
                        p = pair(c, "padding"),
                        d = pair(c, "dilation");
                yield MaxPool2d.builder(k[0], k[1])
                        .stride(s[0], s[1])
                        .padding(p[0], p[1])
                        .dilation(d[0], d[1])
                        .ceilMode(c.get("ceil_mode").getAsBoolean())
                        .build();
            }
            case "AvgPool2d" -> {
                int[] k = pair(c, "kernel_size"), s = pair(c, "stride"), p = pair(c, "padding");
                AvgPool2d.Builder b = AvgPool2d.builder(k[0], k[1])
                        .stride(s[0], s[1])
                        .padding(p[0], p[1])
                        .ceilMode(c.get("ceil_mode").getAsBoolean())
                        .countIncludePad(c.get("count_include_pad").getAsBoolean());
                Integer divisor = optional(c.get("divisor_override"));
                if (divisor != null) {
                    b.divisorOverride(divisor);
                }
                yield b.build();
            }
            case "AdaptiveAvgPool2d" ->
                new AdaptiveAvgPool2d(
                        optional(c.getAsJsonArray("output_size").get(0)),
                        optional(c.getAsJsonArray("output_size").get(1)));
            case "Linear" ->
                Linear.builder(
                                c.get("in_features").getAsInt(),
                                c.get("out_features").getAsInt())
                        .bias(c.get("bias").getAsBoolean())
                        .build();
            case "Flatten" ->
                new Flatten(c.get("start_dim").getAsInt(), c.get("end_dim").getAsInt());
            case "Identity" -> new Identity();
            case "Dropout" -> new Dropout(c.get("p").getAsDouble(), inplace);
            default -> throw new AssertionError("no such layer in onednn4j: " + layer);
        };
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void layerMatchesPyTorchsFloat64Output(Path file) throws IOException {
        try (SafeTensors f = SafeTensors.load(file)) {
            JsonObject config =
                    JsonParser.parseString(f.metadata().get("config")).getAsJsonObject();
            String what = file.getFileName() + " " + config;
            Map<String, Tensor> t = f.tensors();
            Map<String, Tensor> state = new HashMap<>(t);
            state.keySet().removeAll(NOT_STATE);
            Tensor input = t.get("input");
            double[] expected = asDoubles(t.get("output"));
            float[] x = input.toFloatArray();
            try (Module layer = build(config)) {
                layer.eval();
                Module.LoadResult r = layer.loadStateDict(state, true);
                assertEquals(List.of(), r.unexpectedKeys(), what);
                if (state.containsKey("num_batches_tracked")) {
                    assertEquals(
                            DType.INT64,
                            layer.stateDict().get("num_batches_tracked").dtype());
                    assertEquals(
                            t.get("num_batches_tracked").getLong(),
                            layer.stateDict().get("num_batches_tracked").getLong(),
                            "the int64 buffer is loaded as saved");
                }
                double[] bound =
                        layer instanceof OperationModule m ? boundOf(m, input, x) : new double[expected.length];
                List<MemoryFormat> formats =
                        input.dim() == 4 ? List.of(MemoryFormat.values()) : List.of(MemoryFormat.CONTIGUOUS);
                for (Backend backend : Backend.values()) {
                    layer.to(backend);
                    for (MemoryFormat format : formats) {
                        try (Tensor in = input.toMemoryFormat(format);
                                Tensor y = layer.forward(in)) {
                            assertArrayEquals(t.get("output").shape(), y.shape(), what);
                            CrossCheck.Result result = CrossCheck.withinBound(
                                    what + ", " + backend + ", " + format,
                                    y.shape(),
                                    y.toFloatArray(),
                                    expected,
                                    bound);
                            if (!result.passed() && !(result.violations() == 0 && isZeroHeavy(config))) {
                                fail(result.report());
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Layers that clip to zero are, on data symmetric around 0, a third to a half zeros by nature: benchdnn's
     * zero guard (at most 30%) does not apply to them.
     */
    static boolean isZeroHeavy(JsonObject config) {
        return List.of("ReLU", "ReLU6", "Hardswish", "Hardsigmoid")
                .contains(config.get("layer").getAsString());
    }

    static double[] boundOf(OperationModule m, Tensor input, float[] x) {
        try (Tensor copy = input.toMemoryFormat(MemoryFormat.CONTIGUOUS)) {
            Operation op = m.operation(copy);
            return op.bound(x);
        }
    }

    static double[] asDoubles(Tensor t) {
        assertEquals(DType.FLOAT64, t.dtype(), "PyTorch's output is float64");
        return t.toDoubleArray();
    }
}
