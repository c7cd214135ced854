package dev.onednn4j.benchmarks.report;

import dev.onednn4j.benchmarks.report.NetworkTable.Column;
import dev.onednn4j.benchmarks.report.Report.Score;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;

/**
 * The ONNX zoo table of {@code scripts/bench --onnx}, from {@code onnx.json} (JMH's results of
 * {@code OnnxZooCompiled} and {@code OnnxZooOrt}): ms per image of onednn4j compiled fp32 and bf16 and ONNX Runtime
 * on the same files, their ratios, and the geometric means per batch; and a chart of the ratios ({@code onnx.png}).
 *
 * <pre>OnnxZooTable &lt;results-dir&gt; &lt;run-description&gt;</pre>
 */
public final class OnnxZooTable {
    static final String FP32 = "OnnxZooCompiled.compiled:FP32";
    static final String BF16 = "OnnxZooCompiled.compiled:BF16";
    static final String ORT = "OnnxZooOrt.onnxRuntime";

    private OnnxZooTable() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: OnnxZooTable <results-dir> [run description]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        Map<String, Map<Column, Score>> r = NetworkTable.read(dir.resolve("onnx.json"));
        String md = render(r, args.length > 1 ? args[1] : "");
        Files.writeString(dir.resolve("onnx.md"), md, StandardCharsets.UTF_8);
        System.out.println(md);
        System.out.println("wrote " + dir.resolve("onnx.md"));
        chart(r, dir.resolve("onnx.png"));
        System.out.println("wrote " + dir.resolve("onnx.png"));
    }

    static String render(Map<String, Map<Column, Score>> r, String description) {
        Map<Column, Score> fp32 = r.getOrDefault(FP32, Map.of());
        Map<Column, Score> bf16 = r.getOrDefault(BF16, Map.of());
        Map<Column, Score> ort = r.getOrDefault(ORT, Map.of());
        TreeMap<String, List<Column>> byModel = new TreeMap<>();
        for (Map<Column, Score> m : r.values()) {
            for (Column c : m.keySet()) {
                List<Column> l = byModel.computeIfAbsent(c.model(), k -> new ArrayList<>());
                if (!l.contains(c)) {
                    l.add(c);
                }
            }
        }
        StringBuilder md = new StringBuilder();
        md.append("Measured ").append(description).append("\n\n");
        md.append("| model | batch | onednn4j fp32 | onednn4j bf16 | ONNX Runtime | fp32 vs ORT | bf16 vs ORT |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|\n");
        TreeMap<Integer, double[]> geo = new TreeMap<>(); // batch -> {sum log fp32 ratio, n, sum log bf16, n, min}
        for (var e : byModel.entrySet()) {
            List<Column> cols = e.getValue();
            cols.sort((a, b) -> Integer.compare(a.batch(), b.batch()));
            for (Column c : cols) {
                Score f = fp32.get(c);
                Score b = bf16.get(c);
                Score o = ort.get(c);
                double[] g = geo.computeIfAbsent(c.batch(), k -> new double[] {0, 0, 0, 0, Double.MAX_VALUE});
                md.append(String.format(
                        Locale.ROOT,
                        "| %s | %d | %s | %s | %s | %s | %s |%n",
                        c.model(),
                        c.batch(),
                        ms(f, c.batch()),
                        ms(b, c.batch()),
                        ms(o, c.batch()),
                        ratio(f, o, g, 0),
                        ratio(b, o, g, 2)));
            }
        }
        md.append('\n');
        for (var e : geo.entrySet()) {
            double[] g = e.getValue();
            md.append(String.format(
                    Locale.ROOT,
                    "Batch %d: geometric mean of ONNX Runtime's time over onednn4j's, fp32 %s over %d models (lowest "
                            + "%s), bf16 %s over %d models.%n",
                    e.getKey(),
                    g[1] > 0 ? String.format(Locale.ROOT, "%.2fx", Math.exp(g[0] / g[1])) : "-",
                    (int) g[1],
                    g[1] > 0 ? String.format(Locale.ROOT, "%.2fx", g[4]) : "-",
                    g[3] > 0 ? String.format(Locale.ROOT, "%.2fx", Math.exp(g[2] / g[3])) : "-",
                    (int) g[3]));
        }
        md.append("\nms per image: JMH's mean time per call divided by the batch. \"vs ORT\" is ONNX Runtime's time "
                + "over onednn4j's (above 1: onednn4j is faster). Every row checked the first image's output against "
                + "PyTorch's float64 output (1e-4 of its scale, bf16 3e-2) before it was timed. onednn4j: "
                + "OnnxModel.load(file).compile(CompileOptions.forInput(shape).precision(p)), forward(x, out) on a "
                + "contiguous input; ONNX Runtime: the same file, all graph optimisations, the same thread count.\n");
        return md.toString();
    }

    /**
     * ONNX Runtime's time over onednn4j's per model, one bar per precision and batch (log scale: a bar above 1 is a
     * model onednn4j runs faster).
     */
    static void chart(Map<String, Map<Column, Score>> r, Path png) throws IOException {
        Map<Column, Score> ort = r.getOrDefault(ORT, Map.of());
        TreeMap<String, Map<Integer, Column>> byModel = new TreeMap<>();
        for (Column c : ort.keySet()) {
            byModel.computeIfAbsent(c.model(), k -> new TreeMap<>()).put(c.batch(), c);
        }
        CategoryChart chart = Report.barChart(
                "torchvision's models from ONNX files: ONNX Runtime's time over onednn4j's "
                        + "(higher is better; above 1, onednn4j is faster; log scale)",
                "model",
                "ONNX Runtime's time / onednn4j's",
                700,
                35);
        List<String> models = new ArrayList<>(byModel.keySet());
        TreeSet<Integer> batches = new TreeSet<>();
        byModel.values().forEach(m -> batches.addAll(m.keySet()));
        double min = 1;
        double max = 1;
        for (String series : new String[] {FP32, BF16}) {
            Map<Column, Score> ours = r.getOrDefault(series, Map.of());
            for (int batch : batches) {
                List<Double> ys = new ArrayList<>();
                for (String m : models) {
                    Column c = byModel.get(m).get(batch);
                    Score o = c == null ? null : ort.get(c);
                    Score s = c == null ? null : ours.get(c);
                    Double y = o == null || s == null ? null : o.ms() / s.ms();
                    ys.add(y);
                    if (y != null) {
                        min = Math.min(min, y);
                        max = Math.max(max, y);
                    }
                }
                if (ys.stream().anyMatch(y -> y != null)) {
                    chart.addSeries(
                            (series.equals(FP32) ? "compiled fp32" : "compiled bf16") + ", batch " + batch, models, ys);
                }
            }
        }
        // bars start from the axis minimum: a log axis needs it set above zero
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min) * 2) / 2));
        chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(max) * 2) / 2));
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static String ms(Score s, int batch) {
        return s == null ? "-" : Report.ms(s.ms() / batch);
    }

    /** ORT's time over ours, accumulated into {@code g[at]} (log sum) and {@code g[at + 1]} (count). */
    private static String ratio(Score ours, Score ort, double[] g, int at) {
        if (ours == null || ort == null) {
            return "-";
        }
        double x = ort.ms() / ours.ms();
        g[at] += Math.log(x);
        g[at + 1]++;
        if (at == 0) {
            g[4] = Math.min(g[4], x);
        }
        return String.format(Locale.ROOT, "%.2fx", x);
    }
}
