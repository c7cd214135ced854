package dev.onednn4j.benchmarks.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.benchmarks.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Turns JMH's JSON results into the Markdown table and the chart of scripts/bench.
 *
 * <pre>Report &lt;results-dir&gt; &lt;run-description&gt;</pre>
 * reads {@code suite.json} (and, when present, {@code batch.json}, {@code threads-1.json},
 * {@code threads-2.json}) and writes {@code results.md} and {@code gflops.png} next to them.
 */
public final class Report {

    /** Implementations in table order: JMH benchmark (class.method) and display name. */
    static final Map<String, String> IMPLEMENTATIONS = new LinkedHashMap<>();

    static {
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.channelsLast", "onednn4j channels-last");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.channelsLastAllocating", "onednn4j channels-last, forward(x)");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.channelsLastCompiled", "onednn4j compiled");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.channelsLastTuned", "onednn4j compiled, kernels tuned");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.nchwPreallocated", "onednn4j NCHW, forward(x, out)");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.nchwAllocating", "onednn4j NCHW, forward(x)");
        IMPLEMENTATIONS.put("OneDnn4jBenchmark.nchwDefaultLayouts", "onednn4j NCHW, oneDNN's default layouts");
        IMPLEMENTATIONS.put("RawOneDnnBenchmark.executeOnly", "raw oneDNN, execute only");
        IMPLEMENTATIONS.put("RawOneDnnBenchmark.withReorders", "raw oneDNN + NCHW reorders");
        IMPLEMENTATIONS.put("RawOneDnnBenchmark.bestChannelsLast", "raw oneDNN best, channels-last");
        IMPLEMENTATIONS.put("RawOneDnnBenchmark.bestNchw", "raw oneDNN best, NCHW");
        IMPLEMENTATIONS.put("DjlBenchmark.pytorch", "DJL PyTorch");
        IMPLEMENTATIONS.put("OnnxRuntimeBenchmark.onnxRuntime", "ONNX Runtime");
        IMPLEMENTATIONS.put("ReferenceBenchmark.reference", "reference (Java)");
    }

    static final String CL = "OneDnn4jBenchmark.channelsLast";
    static final String COMPILED = "OneDnn4jBenchmark.channelsLastCompiled";
    static final String TUNED = "OneDnn4jBenchmark.channelsLastTuned";
    static final String NCHW = "OneDnn4jBenchmark.nchwPreallocated";
    static final String RAW = "RawOneDnnBenchmark.executeOnly";
    static final String RAW_REORDERS = "RawOneDnnBenchmark.withReorders";
    static final String RAW_BEST_CL = "RawOneDnnBenchmark.bestChannelsLast";
    static final String RAW_BEST_NCHW = "RawOneDnnBenchmark.bestNchw";
    static final String DJL = "DjlBenchmark.pytorch";
    static final String ORT = "OnnxRuntimeBenchmark.onnxRuntime";
    static final String REF = "ReferenceBenchmark.reference";

    /** One measured score: mean ms per call and its 99.9% error. */
    record Score(double ms, double error) {}

    private Report() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: Report <results-dir> [run description]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        String run = args.length > 1 ? args[1] : "";
        Map<String, Map<String, Score>> suite = read(dir.resolve("suite.json"));
        StringBuilder md = new StringBuilder();
        md.append("Measured ").append(run).append("\n\n");
        suiteTable(md, suite);
        targets(md, suite);
        plans(md, dir.resolve("plans.txt"));
        overhead(md, suite);
        Path batch = dir.resolve("batch.json");
        if (Files.exists(batch)) {
            scaling(
                    md,
                    "Batch scaling (3x3, 64 channels, 28x28)",
                    read(batch),
                    "N",
                    Shape.BATCH_SCALING.stream().map(Shape::name).toList());
        }
        Path t1 = dir.resolve("threads-1.json");
        Path t2 = dir.resolve("threads-2.json");
        if (Files.exists(t1) && Files.exists(t2)) {
            threads(md, read(t1), read(t2));
        }
        Path alloc = dir.resolve("alloc.json");
        if (Files.exists(alloc)) {
            allocation(md, alloc);
        }
        if (Files.exists(dir.resolve("networks.json"))) {
            NetworkTable.append(md, dir);
        }
        Files.writeString(dir.resolve("results.md"), md.toString(), StandardCharsets.UTF_8);
        chart(suite, dir.resolve("gflops.png"));
        System.out.println(md);
        System.out.println("wrote " + dir.resolve("results.md") + " and " + dir.resolve("gflops.png"));
    }

    /** benchmark (Class.method) -> shape -> score. */
    static Map<String, Map<String, Score>> read(Path json) throws IOException {
        JsonArray runs = JsonParser.parseString(Files.readString(json)).getAsJsonArray();
        Map<String, Map<String, Score>> out = new LinkedHashMap<>();
        for (JsonElement e : runs) {
            JsonObject o = e.getAsJsonObject();
            String full = o.get("benchmark").getAsString();
            String[] parts = full.split("\\.", -1);
            String key = parts[parts.length - 2] + "." + parts[parts.length - 1];
            String shape = o.getAsJsonObject("params").get("shape").getAsString();
            JsonObject m = o.getAsJsonObject("primaryMetric");
            double error = m.get("scoreError").isJsonPrimitive()
                            && !m.get("scoreError").getAsString().equals("NaN")
                    ? m.get("scoreError").getAsDouble()
                    : Double.NaN;
            out.computeIfAbsent(key, k -> new LinkedHashMap<>())
                    .put(shape, new Score(m.get("score").getAsDouble(), error));
        }
        return out;
    }

    private static Score score(Map<String, Map<String, Score>> r, String impl, String shape) {
        Map<String, Score> m = r.get(impl);
        return m == null ? null : m.get(shape);
    }

    static String ms(double ms) {
        if (ms >= 100) {
            return String.format(Locale.ROOT, "%.0f", ms);
        }
        if (ms >= 1) {
            return String.format(Locale.ROOT, "%.2f", ms);
        }
        if (ms >= 0.01) {
            return String.format(Locale.ROOT, "%.3f", ms);
        }
        return String.format(Locale.ROOT, "%.4f", ms);
    }

    private static double gflops(Shape s, double ms) {
        return s.flops() / (ms * 1e6);
    }

    static void suiteTable(StringBuilder md, Map<String, Map<String, Score>> r) {
        md.append("### Per shape: ms per call (GFLOP/s)\n\n");
        List<String> headers = new ArrayList<>(List.of("shape", "GFLOP"));
        List<String> impls =
                IMPLEMENTATIONS.keySet().stream().filter(r::containsKey).toList();
        impls.forEach(i -> headers.add(IMPLEMENTATIONS.get(i)));
        headers.addAll(List.of(
                "onednn4j CL vs best peer",
                "compiled vs best peer",
                "compiled, tuned vs best peer",
                "onednn4j CL vs raw",
                "onednn4j NCHW vs raw + reorders",
                "reference / onednn4j CL"));
        List<List<String>> rows = new ArrayList<>();
        for (Shape s : Shape.suite()) {
            List<String> row = new ArrayList<>();
            row.add(s.name());
            row.add(String.format(Locale.ROOT, "%.3f", s.flops() / 1e9));
            for (String i : impls) {
                Score sc = score(r, i, s.name());
                row.add(
                        sc == null
                                ? "-"
                                : ms(sc.ms()) + " (" + String.format(Locale.ROOT, "%.1f", gflops(s, sc.ms())) + ")");
            }
            Score cl = score(r, CL, s.name());
            Score peer = best(score(r, DJL, s.name()), score(r, ORT, s.name()));
            row.add(ratio(peer, cl, "x faster"));
            row.add(ratio(peer, score(r, COMPILED, s.name()), "x faster"));
            row.add(ratio(peer, score(r, TUNED, s.name()), "x faster"));
            row.add(overheadPercent(cl, score(r, RAW, s.name())));
            row.add(overheadPercent(score(r, NCHW, s.name()), score(r, RAW_REORDERS, s.name())));
            row.add(ratio(score(r, REF, s.name()), cl, "x"));
            rows.add(row);
        }
        table(md, headers, rows, true);
        md.append("\nRatios: \"x faster\" is the peer's time over onednn4j's; \"+n%\" is how much slower "
                + "onednn4j is than the raw oneDNN ceiling (negative: faster). The reference is time-capped: an "
                + "iteration lasts one second or one call, so on the largest shapes its mean rests on 3 calls "
                + "(1 warm-up, 2 measured).\n\n");
    }

    /**
     * A Markdown table: the first column (the row's name) and the other columns that have a value in some row ("-" is
     * none); {@code numeric}: the other columns right-aligned.
     */
    static void table(StringBuilder md, List<String> headers, List<List<String>> rows, boolean numeric) {
        List<Integer> kept = new ArrayList<>();
        for (int c = 0; c < headers.size(); c++) {
            int col = c;
            if (c == 0 || rows.stream().anyMatch(row -> !row.get(col).equals("-"))) {
                kept.add(c);
            }
        }
        md.append('|');
        kept.forEach(c -> md.append(' ').append(headers.get(c)).append(" |"));
        md.append("\n|");
        kept.forEach(c -> md.append(c > 0 && numeric ? "---:|" : "---|"));
        md.append('\n');
        for (List<String> row : rows) {
            md.append('|');
            kept.forEach(c -> md.append(' ').append(row.get(c)).append(" |"));
            md.append('\n');
        }
    }

    private static Score best(Score a, Score b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return a.ms() <= b.ms() ? a : b;
    }

    private static String ratio(Score slow, Score fast, String unit) {
        if (slow == null || fast == null) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f%s", slow.ms() / fast.ms(), unit.startsWith("x") ? unit : " " + unit);
    }

    private static String overheadPercent(Score ours, Score ceiling) {
        if (ours == null || ceiling == null) {
            return "-";
        }
        return String.format(Locale.ROOT, "%+.1f%%", 100 * (ours.ms() / ceiling.ms() - 1));
    }

    static void targets(StringBuilder md, Map<String, Map<String, Score>> r) {
        md.append("### Targets\n\n");
        List<String> headers = List.of(
                "shape",
                "channels-last within 10% of raw oneDNN's best",
                "NCHW within 10% of raw oneDNN's best",
                "channels-last faster than the best peer",
                "NCHW at least as fast as the best peer",
                "kernels tuned: at least as fast as the best peer");
        List<List<String>> rows = new ArrayList<>();
        int misses = 0;
        for (Shape s : Shape.suite()) {
            Score cl = score(r, CL, s.name());
            Score peer = best(score(r, DJL, s.name()), score(r, ORT, s.name()));
            Score rawCl = score(r, RAW_BEST_CL, s.name());
            Score rawNchw = score(r, RAW_BEST_NCHW, s.name());
            List<String> row = List.of(
                    s.name(),
                    within(cl, rawCl != null ? rawCl : score(r, RAW, s.name())),
                    within(score(r, NCHW, s.name()), rawNchw != null ? rawNchw : score(r, RAW_REORDERS, s.name())),
                    faster(cl, peer, false),
                    faster(score(r, NCHW, s.name()), peer, true),
                    faster(score(r, TUNED, s.name()), peer, true));
            misses += (int) row.stream().filter(c -> c.startsWith("no")).count();
            rows.add(row);
        }
        table(md, headers, rows, false);
        md.append('\n')
                .append(misses == 0 ? "Every target met." : misses + " target(s) missed (\"no\" above).")
                .append(" Percentages carry the 99.9% confidence half-widths JMH reports, combined.\n\n");
    }

    /**
     * What the layer ran per shape and layout, as layout choice by measurement kept it: the lines
     * {@code shape <TAB> layout <TAB> plan} the onednn4j benchmark's forks append to {@code plans.txt} (the last line
     * of a shape and layout wins).
     */
    static void plans(StringBuilder md, Path file) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        Map<String, Map<String, String>> chosen = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", 3);
            if (f.length == 3) {
                // the plan after the operation's description: "...: <implementation>, src <layout> (from ...), ..."
                String plan = f[2].substring(f[2].indexOf(": ") + 2);
                plan = plan.replaceAll(", weights [^,]*( \\(from [a-z]+\\))?", "")
                        .replaceAll(", bias a$", "");
                chosen.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[1], plan);
            }
        }
        md.append("### What the layer ran (layout choice by measurement)\n\n");
        List<List<String>> rows = new ArrayList<>();
        for (Shape s : Shape.suite()) {
            Map<String, String> c = chosen.getOrDefault(s.name(), Map.of());
            rows.add(List.of(
                    s.name(),
                    "`" + c.getOrDefault("NCHW", "-") + "`",
                    "`" + c.getOrDefault("channels-last", "-") + "`"));
        }
        table(md, List.of("shape", "NCHW in and out", "channels-last in and out"), rows, false);
        md.append(
                        "\nThe implementation oneDNN ran and the layouts it read and wrote; \"(from abcd)\" and \"(to abcd)\" mark ")
                .append("a reorder from or to the caller's NCHW tensor around it.\n\n");
    }

    private static String within(Score ours, Score ceiling) {
        if (ours == null || ceiling == null) {
            return "-";
        }
        double over = ours.ms() / ceiling.ms() - 1;
        return (over <= 0.10 ? "yes" : "no")
                + String.format(Locale.ROOT, " (%+.1f%% ± %.1f%%)", 100 * over, 100 * relativeError(ours, ceiling));
    }

    /** JMH's 99.9% half-widths of two scores, combined for their ratio (NaN when a run had too few samples). */
    private static double relativeError(Score a, Score b) {
        return Math.hypot(a.error() / a.ms(), b.error() / b.ms());
    }

    /** "yes" when ours is faster than the peer ({@code orTied}: or as fast), with the peer's time over ours. */
    private static String faster(Score ours, Score peer, boolean orTied) {
        if (ours == null || peer == null) {
            return "-";
        }
        double x = peer.ms() / ours.ms();
        return (x > 1 || (orTied && x == 1) ? "yes" : "no") + String.format(Locale.ROOT, " (%.2fx)", x);
    }

    static void overhead(StringBuilder md, Map<String, Map<String, Score>> r) {
        md.append("### Per-call overhead: the two smallest shapes, microseconds per call\n\n| implementation |");
        List<Shape> small = Shape.suite().stream()
                .sorted((a, b) -> Double.compare(a.flops(), b.flops()))
                .limit(2)
                .toList();
        for (Shape s : small) {
            md.append(' ').append(s.name()).append(" |");
        }
        md.append("\n|---|").append("---:|".repeat(small.size())).append('\n');
        for (var e : IMPLEMENTATIONS.entrySet()) {
            if (!r.containsKey(e.getKey())) {
                continue;
            }
            md.append("| ").append(e.getValue()).append(" |");
            for (Shape s : small) {
                Score sc = score(r, e.getKey(), s.name());
                md.append(' ')
                        .append(sc == null ? "-" : String.format(Locale.ROOT, "%.2f", sc.ms() * 1000))
                        .append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    static void scaling(
            StringBuilder md, String title, Map<String, Map<String, Score>> r, String column, List<String> shapes) {
        md.append("### ").append(title).append(": ms per call (GFLOP/s)\n\n| implementation |");
        for (String s : shapes) {
            md.append(' ')
                    .append(column)
                    .append(" = ")
                    .append(Shape.named(s).n())
                    .append(" |");
        }
        md.append("\n|---|").append("---:|".repeat(shapes.size())).append('\n');
        for (var e : IMPLEMENTATIONS.entrySet()) {
            if (!r.containsKey(e.getKey())) {
                continue;
            }
            md.append("| ").append(e.getValue()).append(" |");
            for (String s : shapes) {
                Score sc = score(r, e.getKey(), s);
                md.append(' ')
                        .append(
                                sc == null
                                        ? "-"
                                        : ms(sc.ms()) + " ("
                                                + String.format(Locale.ROOT, "%.1f", gflops(Shape.named(s), sc.ms()))
                                                + ")")
                        .append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    static void threads(StringBuilder md, Map<String, Map<String, Score>> one, Map<String, Map<String, Score>> two) {
        md.append("""
                ### 1 vs 2 threads: ms per call

                | implementation | shape | 1 thread | 2 threads | speed-up |
                |---|---|---:|---:|---:|
                """);
        for (var e : IMPLEMENTATIONS.entrySet()) {
            Map<String, Score> a = one.get(e.getKey());
            Map<String, Score> b = two.get(e.getKey());
            if (a == null || b == null) {
                continue;
            }
            for (String shape : a.keySet()) {
                Score s1 = a.get(shape);
                Score s2 = b.get(shape);
                if (s2 == null) {
                    continue;
                }
                md.append(String.format(
                        Locale.ROOT,
                        "| %s | %s | %s | %s | %.2fx |%n",
                        e.getValue(),
                        shape,
                        ms(s1.ms()),
                        ms(s2.ms()),
                        s1.ms() / s2.ms()));
            }
        }
        md.append('\n');
    }

    /** JMH's {@code gc.alloc.rate.norm}: bytes allocated on the Java heap per call. */
    static void allocation(StringBuilder md, Path json) throws IOException {
        md.append("""
                ### Java heap allocated per call (bytes, JMH -prof gc)

                | implementation | shape | bytes/call |
                |---|---|---:|
                """);
        JsonArray runs = JsonParser.parseString(Files.readString(json)).getAsJsonArray();
        for (JsonElement e : runs) {
            JsonObject o = e.getAsJsonObject();
            String[] parts = o.get("benchmark").getAsString().split("\\.", -1);
            String key = parts[parts.length - 2] + "." + parts[parts.length - 1];
            JsonObject secondary = o.getAsJsonObject("secondaryMetrics");
            JsonObject norm = secondary == null ? null : secondary.getAsJsonObject("gc.alloc.rate.norm");
            if (norm == null) {
                norm = secondary == null ? null : secondary.getAsJsonObject("·gc.alloc.rate.norm");
            }
            if (norm == null) {
                continue;
            }
            md.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.1f |%n",
                    IMPLEMENTATIONS.getOrDefault(key, key),
                    o.getAsJsonObject("params").get("shape").getAsString(),
                    norm.get("score").getAsDouble()));
        }
        md.append("\nforward(x, out) and channels-last allocate nothing per call: what remains is JMH's own "
                + "per-iteration allocation spread over the calls (more visible where calls are slower). forward(x) "
                + "allocates its output tensor (the Java objects; the data itself is native).\n\n");
    }

    /**
     * A bar chart 1,600 pixels wide on a log axis, white, its legend in one row below, the category labels turned by
     * {@code rotation} degrees.
     */
    static CategoryChart barChart(String title, String xAxis, String yAxis, int height, int rotation) {
        CategoryChart chart = new CategoryChartBuilder()
                .width(1600)
                .height(height)
                .title(title)
                .xAxisTitle(xAxis)
                .yAxisTitle(yAxis)
                .build();
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setXAxisLabelRotation(rotation);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        return chart;
    }

    static void chart(Map<String, Map<String, Score>> r, Path png) throws IOException {
        CategoryChart chart = barChart(
                "Conv2d forward, GFLOP/s per shape (higher is better, log scale)", "shape", "GFLOP/s", 800, 20);
        // one category per measured shape; a series without a measurement there has a gap (null)
        List<Shape> shapes = Shape.suite().stream()
                .filter(s -> r.values().stream().anyMatch(m -> m.containsKey(s.name())))
                .toList();
        List<String> xs = shapes.stream().map(Shape::name).toList();
        double min = Double.MAX_VALUE;
        double max = 0;
        for (var e : IMPLEMENTATIONS.entrySet()) {
            Map<String, Score> m = r.get(e.getKey());
            if (m == null) {
                continue;
            }
            List<Double> ys = new ArrayList<>();
            for (Shape s : shapes) {
                Score sc = m.get(s.name());
                Double y = sc == null ? null : gflops(s, sc.ms());
                ys.add(y);
                if (y != null) {
                    min = Math.min(min, y);
                    max = Math.max(max, y);
                }
            }
            chart.addSeries(e.getValue(), xs, ys);
        }
        // bars start from the axis minimum: a log axis needs it set above zero
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min))));
        chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(max))));
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
