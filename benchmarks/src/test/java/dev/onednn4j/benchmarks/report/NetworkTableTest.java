package dev.onednn4j.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole-network table renders from JMH's JSON: ms per image, the columns measured, the ratios to ORT. */
class NetworkTableTest {

    @TempDir
    Path dir;

    /** One JMH result as JMH writes it (the fields read here). */
    static String result(String benchmark, String model, int batch, double ms, String error) {
        return """
                {"benchmark": "dev.onednn4j.benchmarks.networks.%s", "mode": "avgt",
                 "params": {"batch": "%d", "model": "%s"},
                 "primaryMetric": {"score": %s, "scoreError": %s, "scoreUnit": "ms/op"}}""".formatted(benchmark, batch, model, ms, error);
    }

    @Test
    void rendersMsPerImageAndTheRatiosToOnnxRuntime() throws IOException {
        String json = "["
                + String.join(
                        ",",
                        List.of(
                                result("OneDnn4jNetworks.channelsLast", "resnet18", 1, 20.0, "0.5"),
                                result("OneDnn4jNetworks.channelsLast", "resnet18", 8, 120.0, "1.5"),
                                result("OneDnn4jNetworks.nchw", "resnet18", 1, 25.0, "\"NaN\""),
                                result("OnnxRuntimeNetworks.onnxRuntime", "resnet18", 1, 16.0, "0.3"),
                                result("OnnxRuntimeNetworks.onnxRuntime", "resnet18", 8, 180.0, "2.0"),
                                result("DjlNetworks.pytorch", "mobilenet_v2", 1, 9.5, "0.1")))
                + "]";
        Files.writeString(dir.resolve("networks.json"), json);
        Files.writeString(dir.resolve("networks.txt"), "oneDNN 3.13.0 with ISA cpu_isa_test (OneDnn.cpuIsa()).\n");
        StringBuilder md = new StringBuilder();
        NetworkTable.append(md, dir);
        String table = md.toString();
        List<String> lines = table.lines().toList();

        assertEquals("### Whole networks: ms per image", lines.get(0));
        // only the columns measured, in the parameter order; no resnet50
        assertEquals(
                "| implementation | resnet18, batch 1 | resnet18, batch 8 | mobilenet_v2, batch 1 |", lines.get(2));
        assertEquals("|---|---:|---:|---:|", lines.get(3));
        // ms per call divided by the batch: 120 ms for 8 images is 15 ms per image
        assertEquals("| onednn4j eager, channels-last | 20.00 | 15.00 | - |", lines.get(4));
        assertEquals("| onednn4j eager, NCHW | 25.00 | - | - |", lines.get(5));
        assertEquals("| ONNX Runtime | 16.00 | 22.50 | - |", lines.get(6));
        assertEquals("| DJL PyTorch (TorchScript) | - | - | 9.50 |", lines.get(7));
        assertEquals(
                "| onednn4j eager, channels-last vs ONNX Runtime | 1.25x slower | 1.50x faster | - |", lines.get(8));
        assertEquals("| onednn4j eager, NCHW vs ONNX Runtime | 1.56x slower | - | - |", lines.get(9));
        assertTrue(table.contains("cpu_isa_test"), "the run's note");
    }

    @Test
    void compiledRowsAreOnePerPrecisionAboveTheEagerOnes() throws IOException {
        String compiled = result("OneDnn4jCompiledNetworks.compiled", "resnet50", 8, 400.0, "4.0")
                .replace("\"batch\": \"8\"", "\"batch\": \"8\", \"precision\": \"%s\"");
        String json = "["
                + String.join(
                        ",",
                        List.of(
                                compiled.formatted("FP32"),
                                compiled.replace("400.0", "160.0").formatted("BF16"),
                                result("OneDnn4jNetworks.channelsLast", "resnet50", 8, 640.0, "5"),
                                result("OnnxRuntimeNetworks.onnxRuntime", "resnet50", 8, 480.0, "3")))
                + "]";
        Files.writeString(dir.resolve("networks.json"), json);
        StringBuilder md = new StringBuilder();
        NetworkTable.append(md, dir);
        List<String> lines = md.toString().lines().toList();

        assertEquals("| onednn4j compiled, fp32 | 50.00 |", lines.get(4));
        assertEquals("| onednn4j compiled, bf16 | 20.00 |", lines.get(5));
        assertEquals("| onednn4j eager, channels-last | 80.00 |", lines.get(6));
        assertEquals("| ONNX Runtime | 60.00 |", lines.get(7));
        assertEquals("| onednn4j compiled, fp32 vs ONNX Runtime | 1.20x faster |", lines.get(8));
        assertEquals("| onednn4j compiled, bf16 vs ONNX Runtime | 3.00x faster |", lines.get(9));
        assertEquals("| onednn4j eager, channels-last vs ONNX Runtime | 1.33x slower |", lines.get(10));
    }

    @Test
    void theCompiledAllocationPerCallFollowsTheTable() throws IOException {
        Files.writeString(
                dir.resolve("networks.json"),
                "[" + result("OnnxRuntimeNetworks.onnxRuntime", "resnet18", 1, 10.0, "1.0") + "]");
        Files.writeString(dir.resolve("networks-alloc.json"), """
                [{"benchmark": "dev.onednn4j.benchmarks.networks.OneDnn4jCompiledNetworks.compiled",
                  "params": {"batch": "1", "model": "resnet18", "precision": "FP32"},
                  "primaryMetric": {"score": 9.0, "scoreError": 0.1, "scoreUnit": "ms/op"},
                  "secondaryMetrics": {"gc.alloc.rate.norm": {"score": 0.013, "scoreUnit": "B/op"}}}]
                """);
        StringBuilder md = new StringBuilder();
        NetworkTable.append(md, dir);
        assertTrue(
                md.toString()
                        .contains("Java heap allocated per compiled forward(x, out) (JMH -prof gc, resnet18, batch 1, "
                                + "FP32): 0.01 bytes per call"),
                md.toString());
    }

    @Test
    void theNetworksOnlyRunWritesResultsMdWithTheTable() throws IOException {
        Files.writeString(
                dir.resolve("networks.json"),
                "[" + result("OnnxRuntimeNetworks.onnxRuntime", "mobilenet_v2", 8, 40.0, "1.0") + "]");
        NetworkTable.main(new String[] {dir.toString(), "in a test"});
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.startsWith("Measured in a test\n\n### Whole networks: ms per image\n"), md);
        assertTrue(md.contains("| ONNX Runtime | 5.00 |"), md);
    }
}
