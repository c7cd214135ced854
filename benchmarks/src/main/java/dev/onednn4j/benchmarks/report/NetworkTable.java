package dev.onednn4j.benchmarks.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.benchmarks.report.Report.Score;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The "Whole networks: ms per image" table of scripts/bench, from {@code networks.json} (JMH's results of the
 * {@code dev.onednn4j.benchmarks.networks} classes) and, when present, {@code networks.txt} (one line the script
 * writes about the run: oneDNN's ISA, the load average). {@link Report} appends it to the full run's results;
 * {@code scripts/bench --networks} runs this class alone:
 *
 * <pre>NetworkTable &lt;results-dir&gt; &lt;run-description&gt;</pre>
 *
 * which writes {@code results.md} with this table only.
 */
public final class NetworkTable {

    /** Implementations in table order: JMH benchmark (class.method) and display name. */
    static final Map<String, String> IMPLEMENTATIONS = new LinkedHashMap<>();

    static {
        IMPLEMENTATIONS.put("OneDnn4jCompiledNetworks.compiled:FP32", "onednn4j compiled, fp32");
        IMPLEMENTATIONS.put("OneDnn4jCompiledNetworks.compiled:BF16", "onednn4j compiled, bf16");
        IMPLEMENTATIONS.put("OneDnn4jCompiledNetworks.compiled:INT8", "onednn4j compiled, int8");
        IMPLEMENTATIONS.put(
                "OneDnn4jCompiledNetworks.compiled:INT8_QDQ", "onednn4j compiled, int8 of ONNX Runtime's QDQ file");
        IMPLEMENTATIONS.put("OneDnn4jNetworks.channelsLast", "onednn4j eager, channels-last");
        IMPLEMENTATIONS.put("OneDnn4jNetworks.nchw", "onednn4j eager, NCHW");
        IMPLEMENTATIONS.put("OnnxRuntimeNetworks.onnxRuntime", "ONNX Runtime");
        IMPLEMENTATIONS.put("OnnxRuntimeNetworks.onnxRuntime:INT8", "ONNX Runtime, static int8 (QDQ)");
        IMPLEMENTATIONS.put("DjlNetworks.pytorch", "DJL PyTorch (TorchScript)");
    }

    /** The onednn4j rows compared with ONNX Runtime, below the table. */
    static final List<String> COMPARED = List.of(
            "OneDnn4jCompiledNetworks.compiled:FP32",
            "OneDnn4jCompiledNetworks.compiled:BF16",
            "OneDnn4jCompiledNetworks.compiled:INT8",
            "OneDnn4jNetworks.channelsLast",
            "OneDnn4jNetworks.nchw");

    static final String ORT = "OnnxRuntimeNetworks.onnxRuntime";

    /** Further comparisons, where both rows ran: onednn4j's int8 against ONNX Runtime's and against its own bf16. */
    static final List<List<String>> PAIRS = List.of(
            List.of("OneDnn4jCompiledNetworks.compiled:INT8", "OnnxRuntimeNetworks.onnxRuntime:INT8"),
            List.of("OneDnn4jCompiledNetworks.compiled:INT8_QDQ", "OnnxRuntimeNetworks.onnxRuntime:INT8"),
            List.of("OneDnn4jCompiledNetworks.compiled:INT8", "OneDnn4jCompiledNetworks.compiled:BF16"),
            List.of("OneDnn4jCompiledNetworks.compiled:INT8", "OneDnn4jCompiledNetworks.compiled:FP32"));

    /** Columns in order: the models of {@code Network}'s parameter, then its batches. */
    static final List<String> MODELS = List.of("resnet18", "resnet50", "mobilenet_v2");

    static final List<Integer> BATCHES = List.of(1, 8);

    /** One column of the table. */
    record Column(String model, int batch) {
        @Override
        public String toString() {
            return model + ", batch " + batch;
        }
    }

    private NetworkTable() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: NetworkTable <results-dir> [run description]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        StringBuilder md = new StringBuilder();
        md.append("Measured ").append(args.length > 1 ? args[1] : "").append("\n\n");
        append(md, dir);
        Files.writeString(dir.resolve("results.md"), md.toString(), StandardCharsets.UTF_8);
        System.out.println(md);
        System.out.println("wrote " + dir.resolve("results.md"));
    }

    /** Appends the table of {@code dir/networks.json}, with the line of {@code dir/networks.txt} if there is one. */
    static void append(StringBuilder md, Path dir) throws IOException {
        Path note = dir.resolve("networks.txt");
        render(
                md,
                read(dir.resolve("networks.json")),
                Files.exists(note)
                        ? Files.readString(note, StandardCharsets.UTF_8).strip()
                        : "");
        Path alloc = dir.resolve("networks-alloc.json");
        if (Files.exists(alloc)) {
            allocation(md, alloc);
        }
    }

    /** The compiled rows of {@code networks-alloc.json} (JMH -prof gc): Java heap bytes per forward(x, out). */
    static void allocation(StringBuilder md, Path json) throws IOException {
        for (JsonElement e : JsonParser.parseString(Files.readString(json)).getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            JsonObject secondary = o.getAsJsonObject("secondaryMetrics");
            JsonObject norm = secondary == null ? null : secondary.getAsJsonObject("gc.alloc.rate.norm");
            if (norm == null) {
                continue;
            }
            JsonObject params = o.getAsJsonObject("params");
            md.append(String.format(
                    Locale.ROOT,
                    "Java heap allocated per compiled forward(x, out) (JMH -prof gc, %s, batch %s, %s): %.2f bytes per "
                            + "call, JMH's own per-iteration allocation spread over the calls included.%n%n",
                    params.get("model").getAsString(),
                    params.get("batch").getAsString(),
                    params.has("precision") ? params.get("precision").getAsString() : "",
                    norm.get("score").getAsDouble()));
        }
    }

    /** benchmark (Class.method, then ":" and the precision parameter if any) -> column -> score (ms per call). */
    static Map<String, Map<Column, Score>> read(Path json) throws IOException {
        Map<String, Map<Column, Score>> out = new LinkedHashMap<>();
        for (JsonElement e : JsonParser.parseString(Files.readString(json)).getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            String[] parts = o.get("benchmark").getAsString().split("\\.", -1);
            String key = parts[parts.length - 2] + "." + parts[parts.length - 1];
            JsonObject params = o.getAsJsonObject("params");
            if (params.has("precision")) {
                key += ":" + params.get("precision").getAsString();
            }
            if (params.has("ortPrecision")
                    && !params.get("ortPrecision").getAsString().equals("FP32")) {
                key += ":" + params.get("ortPrecision").getAsString(); // ONNX Runtime's int8 row
            }
            Column column = new Column(
                    params.get("model").getAsString(), params.get("batch").getAsInt());
            JsonObject m = o.getAsJsonObject("primaryMetric");
            JsonElement error = m.get("scoreError");
            out.computeIfAbsent(key, k -> new LinkedHashMap<>())
                    .put(
                            column,
                            new Score(
                                    m.get("score").getAsDouble(),
                                    error.getAsString().equals("NaN") ? Double.NaN : error.getAsDouble()));
        }
        return out;
    }

    /** The table: ms per image (ms per call / batch) per implementation and column, then the ratios to ORT. */
    static void render(StringBuilder md, Map<String, Map<Column, Score>> r, String note) {
        List<Column> columns = new ArrayList<>();
        for (String model : MODELS) {
            for (int batch : BATCHES) {
                Column c = new Column(model, batch);
                if (r.values().stream().anyMatch(m -> m.containsKey(c))) {
                    columns.add(c);
                }
            }
        }
        md.append("### Whole networks: ms per image\n\n| implementation |");
        for (Column c : columns) {
            md.append(' ').append(c).append(" |");
        }
        md.append("\n|---|").append("---:|".repeat(columns.size())).append('\n');
        for (var e : IMPLEMENTATIONS.entrySet()) {
            Map<Column, Score> m = r.get(e.getKey());
            if (m == null) {
                continue;
            }
            md.append("| ").append(e.getValue()).append(" |");
            for (Column c : columns) {
                Score s = m.get(c);
                md.append(' ')
                        .append(s == null ? "-" : Report.ms(s.ms() / c.batch()))
                        .append(" |");
            }
            md.append('\n');
        }
        Map<Column, Score> ort = r.get(ORT);
        for (String impl : COMPARED) {
            Map<Column, Score> ours = r.get(impl);
            if (ours == null || ort == null) {
                continue;
            }
            md.append("| ").append(IMPLEMENTATIONS.get(impl)).append(" vs ONNX Runtime |");
            for (Column c : columns) {
                md.append(' ').append(versus(ours.get(c), ort.get(c))).append(" |");
            }
            md.append('\n');
        }
        for (List<String> pair : PAIRS) {
            Map<Column, Score> ours = r.get(pair.get(0));
            Map<Column, Score> theirs = r.get(pair.get(1));
            if (ours == null || theirs == null) {
                continue;
            }
            md.append("| ")
                    .append(IMPLEMENTATIONS.get(pair.get(0)))
                    .append(" vs ")
                    .append(IMPLEMENTATIONS.get(pair.get(1)))
                    .append(" |");
            for (Column c : columns) {
                md.append(' ').append(versus(ours.get(c), theirs.get(c))).append(" |");
            }
            md.append('\n');
        }
        md.append("\nms per image: JMH's mean time per forward call (batch images of 3x224x224, 1000 classes) divided "
                + "by the batch; \"x faster\" is ONNX Runtime's time over onednn4j's, \"x slower\" the inverse. "
                + "Every implementation runs the same weights (the model fixtures' seeded generator) and was checked "
                + "against PyTorch's logits within 1e-3 of their scale (bf16: 2e-2) before it was timed. onednn4j "
                + "compiled is Module.compile on a channels-last input, forward(x, out): BatchNorm folded, "
                + "activations and residual adds fused as post-ops, activations kept in oneDNN's layouts; bf16 "
                + "only where the CPU has it natively. onednn4j's eager path runs "
                + "each layer as its own oneDNN primitive (BatchNorm and the activations apart from the "
                + "convolutions); ONNX Runtime and TorchScript run graphs PyTorch exported with BatchNorm folded into "
                + "the convolutions, and fuse further. int8 rows (scripts/bench --int8): both calibrate on the same "
                + "32 structured images (CalibrationImages); onednn4j's is CompileOptions.precision(INT8) with its "
                + "default method, ONNX Runtime's the file its quantize_static made (QDQ, s8 weights per channel, u8 "
                + "activations); both checked within 0.1 of the logits' scale. onednn4j's int8 of ONNX Runtime's QDQ "
                + "file is OnnxModel.load(that file).compile(...precision(INT8)): the file's own scales and zero "
                + "points, no calibration, the same quantized model as ONNX Runtime's int8 row.");
        if (!note.isEmpty()) {
            md.append(' ').append(note);
        }
        md.append("\n\n");
    }

    private static String versus(Score ours, Score other) {
        if (ours == null || other == null) {
            return "-";
        }
        double x = other.ms() / ours.ms();
        return x >= 1
                ? String.format(Locale.ROOT, "%.2fx faster", x)
                : String.format(Locale.ROOT, "%.2fx slower", 1 / x);
    }
}
