package dev.onednn4j.benchmarks.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The latency-under-load table of {@code scripts/bench --latency}: JMH sample-time runs, one JSON file per number
 * of busy competitor processes and setting, named {@code c<competitors>-<setting>.json}, turned into p50 and p99
 * per shape, implementation and load.
 *
 * <pre>LatencyReport &lt;results-dir&gt; &lt;run-description&gt;</pre>
 * writes {@code latency.md} next to the JSON files.
 */
public final class LatencyReport {
    private static final Pattern FILE = Pattern.compile("c(\\d+)-(.+)\\.json");

    private LatencyReport() {}

    /** p50 and p99 of one implementation, shape, load and setting, in microseconds; and the sample count. */
    record Latency(double p50, double p99, long samples) {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        String description = args.length > 1 ? args[1] : "";
        // shape -> column (implementation [setting]) -> competitors -> latency
        Map<String, Map<String, Map<Integer, Latency>>> table = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> FILE.matcher(p.getFileName().toString()).matches())
                    .sorted()
                    .toList();
        }
        for (Path f : files) {
            Matcher m = FILE.matcher(f.getFileName().toString());
            if (!m.matches()) {
                continue;
            }
            int competitors = Integer.parseInt(m.group(1));
            String setting = m.group(2);
            for (JsonElement e : JsonParser.parseString(Files.readString(f)).getAsJsonArray()) {
                JsonObject o = e.getAsJsonObject();
                String[] parts = o.get("benchmark").getAsString().split("\\.", -1);
                String key = parts[parts.length - 2] + "." + parts[parts.length - 1];
                String name = Report.IMPLEMENTATIONS.getOrDefault(key, key);
                String column = setting.equals("default") ? name : name + " [" + setting + "]";
                String shape = o.getAsJsonObject("params").get("shape").getAsString();
                JsonObject metric = o.getAsJsonObject("primaryMetric");
                JsonObject pct = metric.getAsJsonObject("scorePercentiles");
                double scale = scaleToMicros(metric.get("scoreUnit").getAsString());
                long samples = 0;
                for (JsonElement raw : metric.getAsJsonArray("rawDataHistogram")) {
                    for (JsonElement iteration : raw.getAsJsonArray()) {
                        for (JsonElement bucket : iteration.getAsJsonArray()) {
                            samples += bucket.getAsJsonArray().get(1).getAsLong();
                        }
                    }
                }
                table.computeIfAbsent(shape, k -> new TreeMap<>())
                        .computeIfAbsent(column, k -> new TreeMap<>())
                        .put(
                                competitors,
                                new Latency(
                                        pct.get("50.0").getAsDouble() * scale,
                                        pct.get("99.0").getAsDouble() * scale,
                                        samples));
            }
        }
        StringBuilder md = new StringBuilder();
        md.append("Latency of one call under load, microseconds: p50 / p99 (JMH sample time), ")
                .append(description)
                .append(".\nA competitor is a busy process (a shell loop) on the same cores.\n");
        for (var shape : table.entrySet()) {
            TreeSet<Integer> loads = new TreeSet<>();
            shape.getValue().values().forEach(c -> loads.addAll(c.keySet()));
            md.append("\n**").append(shape.getKey()).append("**\n\n| implementation |");
            for (int c : loads) {
                md.append(' ').append(c).append(c == 1 ? " competitor |" : " competitors |");
            }
            md.append("\n|---|");
            md.append("---|".repeat(loads.size())).append('\n');
            for (var column : shape.getValue().entrySet()) {
                md.append("| ").append(column.getKey()).append(" |");
                for (int c : loads) {
                    Latency l = column.getValue().get(c);
                    md.append(' ')
                            .append(l == null ? "" : String.format(Locale.ROOT, "%s / %s", us(l.p50()), us(l.p99())))
                            .append(" |");
                }
                md.append('\n');
            }
        }
        Path out = dir.resolve("latency.md");
        Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
        System.out.print(md);
        System.out.println("\nwrote " + out);
    }

    private static double scaleToMicros(String unit) {
        return switch (unit) {
            case "ns/op" -> 1e-3;
            case "us/op" -> 1;
            case "ms/op" -> 1e3;
            case "s/op" -> 1e6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + unit);
        };
    }

    private static String us(double us) {
        if (us >= 1000) {
            return String.format(Locale.ROOT, "%.0f", us);
        }
        if (us >= 10) {
            return String.format(Locale.ROOT, "%.1f", us);
        }
        return String.format(Locale.ROOT, "%.2f", us);
    }
}
