package dev.onednn4j.nn;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What an {@link Precision#INT8} compile learned from its calibration samples: for each value it quantizes, the
 * smallest and largest values seen and the threshold its {@link CalibrationMethod} chose. A service calibrates once,
 * offline, {@linkplain #save saves} it, and compiles later with {@link CompileOptions#calibration(Calibration)}:
 * no samples needed, the same int8 steps.
 *
 * <pre>{@code
 * try (CompiledModule q = net.compile(CompileOptions.forInput(8, 3, 224, 224)
 *         .precision(Precision.INT8).calibration(samples))) {
 *     q.calibration().save(Path.of("resnet50.calibration"));
 * }
 * // later, elsewhere
 * Calibration c = Calibration.load(Path.of("resnet50.calibration"));
 * CompiledModule q = net.compile(CompileOptions.forInput(8, 3, 224, 224).precision(Precision.INT8).calibration(c));
 * }</pre>
 *
 * A value is named by its position among the quantized values and the layer that writes it ({@code "12 layer2.0.conv1"}):
 * a calibration fits the module it was made with, at any batch size, for the same image size.
 */
public final class Calibration {
    private static final String HEADER = "onednn4j calibration 1";

    /**
     * One value's observations.
     *
     * @param min       the smallest value seen
     * @param max       the largest value seen
     * @param threshold the magnitude it is clipped to (positive)
     */
    public record Range(double min, double max, double threshold) {
        /**
         * Checks the range.
         *
         * @throws IllegalArgumentException if a bound is not finite, {@code min > max}, or the threshold is not
         *     positive
         */
        public Range {
            if (!Double.isFinite(min) || !Double.isFinite(max) || !Double.isFinite(threshold)) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "a calibrated range must be finite, got min %s, max %s, threshold %s",
                        min,
                        max,
                        threshold));
            }
            if (min > max || threshold <= 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "a calibrated range needs min <= max and a positive threshold, got min %s, max %s, threshold %s",
                        min,
                        max,
                        threshold));
            }
        }
    }

    private final CalibrationMethod method;
    private final Map<String, Range> ranges;

    /**
     * A calibration from its parts.
     *
     * @param method how the thresholds were chosen
     * @param ranges each quantized value's range, by name, in the compile's order
     * @throws IllegalArgumentException if a name is blank or holds a tab or line break
     */
    public Calibration(CalibrationMethod method, Map<String, Range> ranges) {
        this.method = Objects.requireNonNull(method, "method");
        Map<String, Range> copy = new LinkedHashMap<>();
        ranges.forEach((name, r) -> {
            if (name.isBlank() || name.contains("\t") || name.contains("\n") || name.contains("\r")) {
                throw new IllegalArgumentException(
                        "a calibrated value's name must be non-blank, without tabs or line breaks, got '" + name + "'");
            }
            copy.put(name, Objects.requireNonNull(r, name));
        });
        this.ranges = Collections.unmodifiableMap(copy);
    }

    /**
     * How the thresholds were chosen.
     *
     * @return the method
     */
    public CalibrationMethod method() {
        return method;
    }

    /**
     * Each quantized value's range, by name, in the compile's order.
     *
     * @return an unmodifiable map
     */
    public Map<String, Range> ranges() {
        return ranges;
    }

    /**
     * Writes it as text: a header line, the method, then one line per value (name, min, max, threshold, separated
     * by tabs). Numbers are written so that {@link #load} reads them back exactly.
     *
     * @param file where to write (replaced if it exists)
     * @throws IOException if it cannot be written
     */
    public void save(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(HEADER);
        lines.add("method\t" + method);
        ranges.forEach((name, r) -> lines.add(name + "\t" + r.min() + "\t" + r.max() + "\t" + r.threshold()));
        Files.write(file, lines, StandardCharsets.UTF_8);
    }

    /**
     * Reads what {@link #save} wrote.
     *
     * @param file a saved calibration
     * @return the calibration
     * @throws IOException              if it cannot be read
     * @throws IllegalArgumentException if it is not a saved calibration (the message names the line and the rule)
     */
    public static Calibration load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().equals(HEADER)) {
            throw new IllegalArgumentException(
                    file + " is not a saved calibration: its first line should be '" + HEADER + "'");
        }
        if (lines.size() < 2 || !lines.get(1).startsWith("method\t")) {
            throw new IllegalArgumentException(file + ", line 2: expected 'method<TAB>MINMAX|PERCENTILE|ENTROPY'");
        }
        CalibrationMethod method;
        try {
            method = CalibrationMethod.valueOf(lines.get(1).substring("method\t".length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    file + ", line 2: unknown calibration method '"
                            + lines.get(1).substring(7) + "'",
                    e);
        }
        Map<String, Range> ranges = new LinkedHashMap<>();
        for (int i = 2; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t", -1);
            if (f.length != 4) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%s, line %d: expected name, min, max and threshold separated by tabs, got %d fields",
                        file,
                        i + 1,
                        f.length));
            }
            try {
                Range r = new Range(Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]));
                if (ranges.put(f[0], r) != null) {
                    throw new IllegalArgumentException("the value '" + f[0] + "' appears twice");
                }
            } catch (IllegalArgumentException e) { // NumberFormatException included
                throw new IllegalArgumentException(
                        String.format(Locale.ROOT, "%s, line %d: %s", file, i + 1, e.getMessage()), e);
            }
        }
        return new Calibration(method, ranges);
    }

    @Override
    public String toString() {
        return "Calibration(" + method + ", " + ranges.size() + " values)";
    }
}
