package dev.onednn4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.ConvParams;
import dev.onednn4j.internal.op.PadMode;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ModuleList;
import dev.onednn4j.nn.Padding;
import dev.onednn4j.nn.PaddingMode;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden fixtures computed by real PyTorch (scripts/make-torch-fixtures): each convolution, on oneDNN
 * and on the reference, in both memory formats, must agree with PyTorch's output within twice the proven
 * rounding bound (each result lies within the bound of the exact value); state dicts load with PyTorch's
 * names, strictly.
 */
class TorchFixturesTest {

    static Path fixtures() throws URISyntaxException {
        return Path.of(TorchFixturesTest.class
                        .getResource("/torch/deepnet.safetensors")
                        .toURI())
                .getParent();
    }

    static Stream<Path> convolutions() throws IOException, URISyntaxException {
        List<Path> files;
        try (Stream<Path> s = Files.list(fixtures())) {
            files = s.filter(p -> p.getFileName().toString().startsWith("conv-"))
                    .sorted()
                    .toList();
        }
        assertTrue(files.size() >= 40, "at least 40 single-convolution fixtures, found " + files.size());
        return files.stream();
    }

    static int[] pair(JsonArray a) {
        return new int[] {a.get(0).getAsInt(), a.get(1).getAsInt()};
    }

    static Conv2d build(JsonObject c) {
        int[] k = pair(c.getAsJsonArray("kernel_size"));
        int[] s = pair(c.getAsJsonArray("stride"));
        int[] d = pair(c.getAsJsonArray("dilation"));
        Conv2d.Builder b = Conv2d.builder(
                        c.get("in_channels").getAsInt(), c.get("out_channels").getAsInt(), k[0], k[1])
                .stride(s[0], s[1])
                .dilation(d[0], d[1])
                .groups(c.get("groups").getAsInt())
                .bias(c.get("bias").getAsBoolean())
                .paddingMode(PaddingMode.of(c.get("padding_mode").getAsString()));
        if (c.get("padding").isJsonPrimitive()) {
            b.padding(Padding.valueOf(c.get("padding").getAsString().toUpperCase(Locale.ROOT)));
        } else {
            int[] p = pair(c.getAsJsonArray("padding"));
            b.padding(p[0], p[1]);
        }
        return b.build();
    }

    /** The same arguments as {@link #build}, as the internal geometry resolver takes them. */
    static ConvParams params(JsonObject c) {
        int[] k = pair(c.getAsJsonArray("kernel_size"));
        int[] s = pair(c.getAsJsonArray("stride"));
        int[] d = pair(c.getAsJsonArray("dilation"));
        boolean string = c.get("padding").isJsonPrimitive();
        int[] p = string ? new int[2] : pair(c.getAsJsonArray("padding"));
        return new ConvParams(
                c.get("in_channels").getAsInt(),
                c.get("out_channels").getAsInt(),
                k[0],
                k[1],
                s[0],
                s[1],
                p[0],
                p[1],
                string && c.get("padding").getAsString().equals("same"),
                d[0],
                d[1],
                c.get("groups").getAsInt(),
                PadMode.valueOf(c.get("padding_mode").getAsString().toUpperCase(Locale.ROOT)),
                c.get("bias").getAsBoolean());
    }

    /**
     * Every element of {@code got} within {@code factor} times its proven bound of PyTorch's output (the bound of
     * the exact result; PyTorch's is a float result too, so 2 covers both), and PyTorch's output not mostly zeros.
     */
    static void assertWithinBound(
            String what, ConvGeometry g, float[] x, float[] w, float[] b, float[] got, float[] torch, double factor) {
        assertEquals(torch.length, got.length, what);
        CrossCheck.Result r = CrossCheck.convolution(what + " vs PyTorch", g, x, w, b, got, torch, factor);
        if (!r.passed()) {
            fail(r.report());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convolutions")
    void convolutionMatchesPyTorch(Path file) throws IOException {
        try (SafeTensors f = SafeTensors.load(file)) {
            JsonObject config =
                    JsonParser.parseString(f.metadata().get("config")).getAsJsonObject();
            Map<String, Tensor> t = f.tensors();
            Map<String, Tensor> state = new HashMap<>();
            state.put("weight", t.get("weight"));
            if (t.containsKey("bias")) {
                state.put("bias", t.get("bias"));
            }
            try (Conv2d conv = build(config)) {
                assertEquals(List.of(), conv.loadStateDict(state, true).unexpectedKeys());
                Tensor x = t.get("input");
                Tensor torchOut = t.get("output");
                assertArrayEquals(torchOut.shape(), conv.outputShape(x.shape()), "output shape, " + config);
                long[] nchw = x.dim() == 4 ? x.shape() : new long[] {1, x.size(0), x.size(1), x.size(2)};
                ConvGeometry g = params(config).resolve(nchw);
                float[] w = conv.weight().toFloatArray();
                float[] b = conv.bias() == null ? null : conv.bias().toFloatArray();
                for (Backend backend : Backend.values()) {
                    conv.to(backend);
                    List<MemoryFormat> formats =
                            x.dim() == 4 ? List.of(MemoryFormat.values()) : List.of(MemoryFormat.CONTIGUOUS);
                    for (MemoryFormat format : formats) {
                        try (Tensor in = x.toMemoryFormat(format);
                                Tensor y = conv.forward(in)) {
                            assertWithinBound(
                                    file.getFileName() + " " + config + ", " + backend + ", " + format,
                                    g,
                                    x.toFloatArray(),
                                    w,
                                    b,
                                    y.toFloatArray(),
                                    torchOut.toFloatArray(),
                                    2);
                        }
                    }
                }
            }
        }
    }

    /** The arithmetic of each of the blocks' convolutions (8 to 8 channels, 3x3, padding 1). */
    static final ConvParams BLOCK_CONV = new ConvParams(8, 8, 3, 3, 1, 1, 1, 1, false, 1, 1, 1, PadMode.ZEROS, true);

    /** The seed's network: a list of ten blocks, conv2(conv1(x)) each, as the PyTorch fixture defines it. */
    static final class Block extends Module {
        final Conv2d conv1 =
                registerModule("conv1", Conv2d.builder(8, 8, 3).padding(1).build());
        final Conv2d conv2 =
                registerModule("conv2", Conv2d.builder(8, 8, 3).padding(1).build());

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor h = conv1.forward(x)) {
                return conv2.forward(h);
            }
        }
    }

    static final class DeepNet extends Module {
        final ModuleList blocks = registerModule("blocks", new ModuleList());

        DeepNet() {
            for (int i = 0; i < 10; i++) {
                blocks.add(new Block());
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = x;
            for (Module b : blocks) {
                Tensor next = b.forward(h);
                if (h != x) {
                    h.close();
                }
                h = next;
            }
            return h;
        }
    }

    @Test
    void pytorchsTenBlockNetworkLoadsStrictlyAndEveryLayerMatches() throws Exception {
        try (DeepNet net = new DeepNet();
                SafeTensors state = SafeTensors.load(fixtures().resolve("deepnet.safetensors"));
                SafeTensors io = SafeTensors.load(fixtures().resolve("deepnet-io.safetensors"))) {
            assertEquals(40, state.entries().size());
            assertEquals(
                    List.copyOf(net.stateDict().keySet()).stream().sorted().toList(),
                    List.copyOf(state.entries().keySet()).stream().sorted().toList(),
                    "PyTorch's names");
            Module.LoadResult r = net.loadStateDict(state.tensors(), true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            Map<String, Tensor> act = io.tensors();
            // layer by layer, each fed PyTorch's own input to that layer: the proven bound applies
            Tensor in = act.get("input");
            for (int i = 0; i < 10; i++) {
                Block b = (Block) net.blocks.get(i);
                for (String layer : List.of("conv1", "conv2")) {
                    Conv2d conv = layer.equals("conv1") ? b.conv1 : b.conv2;
                    Tensor torchOut = act.get("blocks." + i + "." + layer + ".out");
                    try (Tensor y = conv.forward(in)) {
                        assertWithinBound(
                                "blocks." + i + "." + layer,
                                BLOCK_CONV.resolve(in.shape()),
                                in.toFloatArray(),
                                conv.weight().toFloatArray(),
                                conv.bias().toFloatArray(),
                                y.toFloatArray(),
                                torchOut.toFloatArray(),
                                2);
                    }
                    in = torchOut;
                }
            }
            // end to end: errors compound through 20 layers, so this is a sanity check, not a proof
            try (Tensor y = net.forward(act.get("input"))) {
                float[] got = y.toFloatArray();
                float[] torch = act.get("output").toFloatArray();
                double scale = 0;
                double max = 0;
                for (int i = 0; i < got.length; i++) {
                    scale = Math.max(scale, Math.abs(torch[i]));
                    max = Math.max(max, Math.abs(got[i] - torch[i]));
                }
                assertTrue(max <= 1e-4 * scale, "end to end: max error " + max + " on outputs up to " + scale);
            }
        }
    }

    /** The contract with PyTorch's files, as written but for the folder of the paths. */
    @Test
    void theContractRunsWithAStateDictExportedByPyTorch(@TempDir Path dir) throws Exception {
        Files.copy(fixtures().resolve("sequential.safetensors"), dir.resolve("net.safetensors"));
        float[] input;
        float[] expected;
        try (SafeTensors io = SafeTensors.load(fixtures().resolve("sequential-io.safetensors"))) {
            input = io.tensors().get("input").toFloatArray();
            expected = io.tensors().get("output").toFloatArray();
        }
        float[] got;
        // ---- the contract ----
        try (Sequential net = new Sequential(
                        Conv2d.builder(3, 8, 3).padding(1).build(),
                        Conv2d.builder(8, 8, 3).padding(1).build());
                SafeTensors file = SafeTensors.load(dir.resolve("net.safetensors"))) { // memory-mapped
            net.loadStateDict(file.tensors(), true); // Map<String, Tensor>: "0.weight", "0.bias", ...
            try (Tensor x = Tensor.of(input, 1, 3, 32, 32);
                    Tensor y = net.forward(x)) {
                float[] out = y.toFloatArray();
                got = out;
            }
            SafeTensors.save(net.stateDict(), dir.resolve("copy.safetensors"));
        }
        // ---- end of the contract ----
        try (SafeTensors a = SafeTensors.load(dir.resolve("net.safetensors"));
                SafeTensors b = SafeTensors.load(dir.resolve("copy.safetensors"))) {
            assertEquals(a.entries().keySet(), b.entries().keySet());
            for (String k : a.entries().keySet()) {
                assertArrayEquals(
                        a.tensors().get(k).toFloatArray(), b.tensors().get(k).toFloatArray(), k);
            }
        }
        double scale = 0;
        double max = 0;
        for (int i = 0; i < got.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            max = Math.max(max, Math.abs(got[i] - expected[i]));
        }
        assertTrue(max <= 1e-5 * scale, "two layers: max error " + max + " on outputs up to " + scale);
    }
}
