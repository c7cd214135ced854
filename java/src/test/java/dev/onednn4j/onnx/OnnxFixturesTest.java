package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every committed ONNX fixture (scripts/make-onnx-fixtures: small models per op family and torchvision models at
 * reduced width, exported by torch.onnx.export at opset 17 with random weights and BatchNorm statistics), run by
 * {@link OnnxModel} on oneDNN and on the reference backend at batch 1 and batch 3, against PyTorch's float64
 * output of the same model: within 1e-4 of the output's largest magnitude, the bound the issue sets for fp32.
 */
class OnnxFixturesTest {
    static final double TOLERANCE = 1e-4;

    static Path dir() throws URISyntaxException {
        return Path.of(OnnxFixturesTest.class.getResource("/onnx").toURI());
    }

    static List<String> cases() throws IOException, URISyntaxException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir())) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".onnx"))
                    .sorted()
                    .forEach(n -> out.add(n.substring(0, n.length() - 5)));
        }
        assertTrue(out.size() >= 15, "found the fixtures: " + out);
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesPyTorchOnBothBackendsAndBatches(String name) throws Exception {
        Path dir = dir();
        try (OnnxModel model = OnnxModel.load(dir.resolve(name + ".onnx"));
                SafeTensors io = SafeTensors.load(dir.resolve(name + "-io.safetensors"))) {
            Map<String, Tensor> t = io.tensors();
            for (String batch : new String[] {"", "_b3"}) {
                for (Backend backend : Backend.values()) {
                    model.to(backend);
                    Map<String, Tensor> out =
                            model.forward(Map.of(model.inputs().get(0).name(), t.get("input" + batch)));
                    try {
                        for (String o : out.keySet()) {
                            String key = (out.size() == 1 ? "output" : o) + batch;
                            Tensor expected = t.get(key);
                            assertArrayEquals(expected.shape(), out.get(o).shape(), name + " " + key + " shape");
                            double err = relativeError(out.get(o).toDoubleArray(), expected.toDoubleArray());
                            System.out.printf(Locale.ROOT, "ERRLOG %s %s %s %.3g%n", name, key, backend, err);
                            assertTrue(
                                    err <= TOLERANCE,
                                    String.format(
                                            Locale.ROOT,
                                            "%s %s on %s: max |y - y_torch| / max |y_torch| = %.3g > %.0e",
                                            name,
                                            key,
                                            backend,
                                            err,
                                            TOLERANCE));
                        }
                    } finally {
                        out.values().forEach(Tensor::close);
                    }
                }
            }
        }
    }

    static double relativeError(double[] y, double[] expected) {
        assertEquals(expected.length, y.length);
        double scale = 0;
        double err = 0;
        for (int i = 0; i < y.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(y[i] - expected[i]));
            if (Double.isNaN(y[i])) {
                return Double.POSITIVE_INFINITY;
            }
        }
        return err / Math.max(scale, 1e-30);
    }

    static Map<String, Tensor> one(String name, Tensor t) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(name, t);
        return m;
    }
}
