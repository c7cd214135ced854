package dev.onednn4j.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A run's summary for people (counts, per-layer table, kernels seen, every failure with its reproduction command) and
 * its machine-readable report: {@code fuzz-report.json} (settings, counts, per-layer counts, kernels, failures) and
 * {@code fuzz-cases.tsv} (one row per case).
 */
public final class Report {
    private Report() {}

    /** How many failures the printed summary lists in full (the JSON report has them all). */
    static final int LISTED = 40;

    /** Counts over a set of outcomes. */
    static final class Counts {
        long cases;
        long valid;
        long invalid;
        long pass;
        long crash;
        long hang;
        long wrong;
        long unclear;
        long nonFinite;
        long wrongNonFinite;
        long weak;

        void add(Outcome o) {
            cases++;
            if (o.valid()) {
                valid++;
            } else {
                invalid++;
            }
            switch (o.status()) {
                case PASS -> pass++;
                case CRASH -> crash++;
                case HANG -> hang++;
                case WRONG -> wrong++;
                case UNCLEAR -> unclear++;
            }
            if (o.nonFinite()) {
                nonFinite++;
                if (o.status() == Status.WRONG) {
                    wrongNonFinite++;
                }
            }
            if (o.weakEvidence()) {
                weak++;
            }
        }

        String json() {
            return String.format(
                    Locale.ROOT,
                    "{\"cases\": %d, \"valid\": %d, \"invalid\": %d, \"pass\": %d, \"crashes\": %d, \"hangs\": %d, "
                            + "\"wrong\": %d, \"unclear\": %d, \"nonFinite\": %d, \"wrongNonFinite\": %d, "
                            + "\"mostlyZero\": %d}",
                    cases,
                    valid,
                    invalid,
                    pass,
                    crash,
                    hang,
                    wrong,
                    unclear,
                    nonFinite,
                    wrongNonFinite,
                    weak);
        }
    }

    static Counts counts(List<Outcome> outcomes) {
        Counts c = new Counts();
        outcomes.forEach(c::add);
        return c;
    }

    /** Per layer, in {@link Layers#CLASSES} order, then any other layer a test source made. */
    static Map<String, Counts> perLayer(List<Outcome> outcomes) {
        Map<String, Counts> m = new LinkedHashMap<>();
        for (String layer : Layers.CLASSES) {
            m.put(layer, new Counts());
        }
        for (Outcome o : outcomes) {
            m.computeIfAbsent(o.layer(), k -> new Counts()).add(o);
        }
        m.values().removeIf(c -> c.cases == 0);
        return m;
    }

    /** Per layer, each oneDNN implementation and how many cases used it. */
    static Map<String, Map<String, Long>> kernels(List<Outcome> outcomes) {
        Map<String, Map<String, Long>> m = new LinkedHashMap<>();
        for (String layer : Layers.CLASSES) {
            m.put(layer, new TreeMap<>());
        }
        for (Outcome o : outcomes) {
            if (o.kernel() != null) {
                m.computeIfAbsent(o.layer(), k -> new TreeMap<>()).merge(o.kernel(), 1L, Long::sum);
            }
        }
        m.values().removeIf(Map::isEmpty);
        return m;
    }

    /**
     * The command that reruns one case by itself, in this JVM, verbosely.
     *
     * @param s     the run's settings
     * @param index the case
     * @return e.g. {@code scripts/fuzz --seed 20261128 --case 123}
     */
    public static String reproduce(Supervisor.Settings s, long index) {
        return "scripts/fuzz --seed " + s.seed() + " --case " + index
                + (s.layers().isEmpty() ? "" : " --layers " + Layers.toArgument(s.layers()))
                + (s.source() == null ? "" : " --source " + s.source());
    }

    /**
     * The summary for people.
     *
     * @param r the run's results
     * @return several lines: settings, counts, per-layer table, kernels, failures with reproduction commands
     */
    public static String summary(Supervisor.Summary r) {
        Supervisor.Settings s = r.settings();
        List<Outcome> all = r.outcomes();
        Counts c = counts(all);
        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "== onednn4j fuzz: seed %d, %d cases, layers %s, %d job(s)%n",
                s.seed(),
                s.cases(),
                s.layers().isEmpty() ? "all" : Layers.toArgument(s.layers()),
                s.jobs()));
        b.append(String.format(
                Locale.ROOT,
                "oneDNN %s, OneDnn.cpuIsa() = %s, %d child JVM(s)%n",
                r.oneDnnVersion(),
                r.cpuIsa(),
                r.childStarts()));
        b.append(String.format(
                Locale.ROOT,
                "wall time %.1f s, %.1f cases/s%n",
                r.wallSeconds(),
                r.wallSeconds() > 0 ? all.size() / r.wallSeconds() : 0));
        b.append(String.format(
                Locale.ROOT,
                "cases: %d (%d valid, %d invalid); non-finite inputs: %d; mostly-zero outputs (weak evidence): %d%n",
                c.cases,
                c.valid,
                c.invalid,
                c.nonFinite,
                c.weak));
        b.append(String.format(
                Locale.ROOT,
                "crashes: %d, hangs: %d, wrong results: %d (%d of them on inputs with NaN or infinities), "
                        + "unclear errors: %d%n",
                c.crash,
                c.hang,
                c.wrong,
                c.wrongNonFinite,
                c.unclear));
        if (all.size() < s.cases()) {
            b.append(String.format(Locale.ROOT, "NOTE: only %d of %d cases ran%n", all.size(), s.cases()));
        }
        b.append(String.format(
                Locale.ROOT,
                "%nper layer:%n  %-18s %6s %6s %7s %6s %6s %6s %6s %7s %9s%n",
                "layer",
                "cases",
                "valid",
                "invalid",
                "pass",
                "crash",
                "hang",
                "wrong",
                "unclear",
                "nonfinite"));
        for (var e : perLayer(all).entrySet()) {
            Counts l = e.getValue();
            b.append(String.format(
                    Locale.ROOT,
                    "  %-18s %6d %6d %7d %6d %6d %6d %6d %7d %9d%n",
                    e.getKey(),
                    l.cases,
                    l.valid,
                    l.invalid,
                    l.pass,
                    l.crash,
                    l.hang,
                    l.wrong,
                    l.unclear,
                    l.nonFinite));
        }
        Map<String, Map<String, Long>> kernels = kernels(all);
        if (!kernels.isEmpty()) {
            b.append(String.format(Locale.ROOT, "%nkernels seen (oneDNN implementations, cases):%n"));
            kernels.forEach((layer, k) -> b.append(String.format(
                    Locale.ROOT,
                    "  %-18s %s%n",
                    layer,
                    k.entrySet().stream()
                            .map(e -> e.getKey() + " x" + e.getValue())
                            .collect(Collectors.joining(", ")))));
        }
        List<Outcome> failures = all.stream()
                .filter(o -> o.status().failed())
                .sorted(Comparator.comparingInt(Report::severity).thenComparingLong(Outcome::index))
                .toList();
        if (!failures.isEmpty()) {
            Map<String, Long> kinds = new LinkedHashMap<>();
            for (Outcome o : failures) {
                kinds.merge(
                        String.format(
                                Locale.ROOT,
                                "%-7s %-18s %s",
                                o.status(),
                                o.layer(),
                                o.nonFinite() ? "on NaN/infinite input" : o.valid() ? "valid" : "invalid"),
                        1L,
                        Long::sum);
            }
            b.append(String.format(Locale.ROOT, "%nfailures by kind:%n"));
            kinds.forEach((k, n) -> b.append(String.format(Locale.ROOT, "  %5d  %s%n", n, k)));
            b.append(String.format(
                    Locale.ROOT,
                    "%nfailures (%d; crashes first, then wrong results on finite inputs):%n",
                    failures.size()));
            for (Outcome o : failures.subList(0, Math.min(LISTED, failures.size()))) {
                b.append(String.format(
                        Locale.ROOT,
                        "%s case %d, %s (%s): %s%n    %s%n    kernel: %s%n    reproduce: %s%n",
                        o.status(),
                        o.index(),
                        o.layer(),
                        o.valid() ? "valid" : "invalid",
                        o.description(),
                        indent(
                                o.status() == Status.CRASH || o.status() == Status.HANG
                                        ? Supervisor.firstLine(o.detail())
                                        : clip(o.detail(), 1500)),
                        o.kernel() == null ? "-" : o.kernel(),
                        reproduce(s, o.index())));
            }
            if (failures.size() > LISTED) {
                b.append(String.format(Locale.ROOT, "... and %d more in the JSON report%n", failures.size() - LISTED));
            }
        }
        b.append(String.format(
                Locale.ROOT,
                "%nverdict: %s%n",
                c.crash + c.hang + c.wrong + c.unclear == 0
                        ? "PASS (no crash, no wrong result, no unclear error)"
                        : "FAIL"));
        return b.toString();
    }

    /** Crashes and hangs first, then wrong results on finite inputs, unclear errors, wrong results on NaN. */
    private static int severity(Outcome o) {
        return switch (o.status()) {
            case CRASH -> 0;
            case HANG -> 1;
            case WRONG -> o.nonFinite() ? 4 : 2;
            case UNCLEAR -> 3;
            case PASS -> 5;
        };
    }

    private static String indent(String s) {
        return s.replace("\n", "\n    ");
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    /**
     * Writes {@code fuzz-report.json} and {@code fuzz-cases.tsv} into {@code dir}.
     *
     * @param r   the run's results
     * @param dir the folder, created if needed
     * @return the JSON report's path
     * @throws IOException if the files cannot be written
     */
    public static Path write(Supervisor.Summary r, Path dir) throws IOException {
        Files.createDirectories(dir);
        Supervisor.Settings s = r.settings();
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"seed\": ").append(s.seed()).append(",\n");
        j.append("  \"cases\": ").append(s.cases()).append(",\n");
        j.append("  \"layers\": ")
                .append(str(s.layers().isEmpty() ? "all" : Layers.toArgument(s.layers())))
                .append(",\n");
        j.append("  \"jobs\": ").append(s.jobs()).append(",\n");
        j.append("  \"oneDnnVersion\": ").append(str(r.oneDnnVersion())).append(",\n");
        j.append("  \"cpuIsa\": ").append(str(r.cpuIsa())).append(",\n");
        j.append("  \"wallSeconds\": ")
                .append(String.format(Locale.ROOT, "%.3f", r.wallSeconds()))
                .append(",\n");
        j.append("  \"childJvms\": ").append(r.childStarts()).append(",\n");
        j.append("  \"counts\": ").append(counts(r.outcomes()).json()).append(",\n");
        j.append("  \"perLayer\": {");
        List<String> rows = new ArrayList<>();
        perLayer(r.outcomes()).forEach((k, v) -> rows.add("\n    " + str(k) + ": " + v.json()));
        j.append(String.join(",", rows)).append("\n  },\n");
        j.append("  \"kernels\": {");
        rows.clear();
        kernels(r.outcomes())
                .forEach((layer, k) -> rows.add("\n    " + str(layer) + ": {"
                        + k.entrySet().stream()
                                .map(e -> str(e.getKey()) + ": " + e.getValue())
                                .collect(Collectors.joining(", "))
                        + "}"));
        j.append(String.join(",", rows)).append("\n  },\n");
        j.append("  \"failures\": [");
        rows.clear();
        for (Outcome o : r.outcomes()) {
            if (o.status().failed()) {
                rows.add(String.format(
                        Locale.ROOT,
                        "%n    {\"index\": %d, \"status\": %s, \"layer\": %s, \"valid\": %s, \"description\": %s, "
                                + "\"kernel\": %s, \"nonFinite\": %s, \"detail\": %s, \"reproduce\": %s}",
                        o.index(),
                        str(o.status().name()),
                        str(o.layer()),
                        o.valid(),
                        str(o.description()),
                        o.kernel() == null ? "null" : str(o.kernel()),
                        o.nonFinite(),
                        str(o.detail()),
                        str(reproduce(s, o.index()))));
            }
        }
        j.append(String.join(",", rows))
                .append(rows.isEmpty() ? "]\n" : "\n  ]\n")
                .append("}\n");
        Path json = dir.resolve("fuzz-report.json");
        Files.writeString(json, j, StandardCharsets.UTF_8);

        StringBuilder t = new StringBuilder(
                "index\tlayer\tvalid\tstatus\tnon_finite\tmostly_zero\tkernel\tmillis\t" + "description\tdetail\n");
        for (Outcome o : r.outcomes()) {
            t.append(o.index())
                    .append('\t')
                    .append(o.layer())
                    .append('\t')
                    .append(o.valid())
                    .append('\t')
                    .append(o.status())
                    .append('\t')
                    .append(o.nonFinite())
                    .append('\t')
                    .append(o.weakEvidence())
                    .append('\t')
                    .append(o.kernel() == null ? "" : o.kernel())
                    .append('\t')
                    .append(String.format(Locale.ROOT, "%.2f", o.millis()))
                    .append('\t')
                    .append(Protocol.escape(o.description()))
                    .append('\t')
                    .append(Protocol.escape(clip(o.detail(), 2000)))
                    .append('\n');
        }
        Files.writeString(dir.resolve("fuzz-cases.tsv"), t, StandardCharsets.UTF_8);
        return json;
    }

    /** A JSON string literal. */
    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
