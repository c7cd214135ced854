package dev.onednn4j.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What the message of a refusal must contain: for each offending value, one of its acceptable renderings. A number
 * must appear as a whole decimal number ({@code 3} is not found in {@code 13}, {@code -3} or {@code 3.5}, but is in
 * {@code (1x3x5)}); 0 may also be written {@code zero}, as in PyTorch's {@code stride should not be zero}. A word
 * (a dtype, {@code closed}, {@code read-only}) must appear, in any case.
 */
public final class Expected {
    private final List<List<String>> groups;

    private Expected(List<List<String>> groups) {
        this.groups = List.copyOf(groups);
    }

    /** A builder: add one group per offending value. */
    public static Expected none() {
        return new Expected(List.of());
    }

    /**
     * One group per value, each rendered as a decimal number.
     *
     * @param values the offending values
     * @return the expectation that the message names each of them
     */
    public static Expected values(long... values) {
        Expected e = none();
        for (long v : values) {
            e = e.value(v);
        }
        return e;
    }

    /**
     * This expectation and a number.
     *
     * @param v the offending value
     * @return a new expectation
     */
    public Expected value(long v) {
        return v == 0 ? anyOf("0", "zero") : anyOf(Long.toString(v));
    }

    /**
     * This expectation and a floating-point value, accepted as Java or Python print it.
     *
     * @param v the offending value
     * @return a new expectation
     */
    public Expected value(double v) {
        if (Double.isNaN(v)) {
            return anyOf("NaN", "nan");
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? anyOf("Infinity", "inf") : anyOf("-Infinity", "-inf");
        }
        List<String> forms = new ArrayList<>(List.of(Double.toString(v), Float.toString((float) v)));
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            forms.add(Long.toString((long) v));
        }
        forms.add(String.format(Locale.ROOT, "%g", v));
        return anyOf(forms.toArray(String[]::new));
    }

    /**
     * This expectation and a group of alternatives (numbers as decimal text, or words).
     *
     * @param alternatives the renderings, any one of which the message must contain
     * @return a new expectation
     */
    public Expected anyOf(String... alternatives) {
        List<List<String>> g = new ArrayList<>(groups);
        g.add(List.of(alternatives));
        return new Expected(g);
    }

    /**
     * This expectation and a group of numeric alternatives.
     *
     * @param alternatives values any one of which the message must name
     * @return a new expectation
     */
    public Expected anyOfValues(long... alternatives) {
        String[] s = new String[alternatives.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Long.toString(alternatives[i]);
        }
        return anyOf(s);
    }

    /**
     * The groups none of whose alternatives {@code message} contains.
     *
     * @param message an exception's message, possibly null
     * @return the missing groups, each as its alternatives joined by {@code " or "}; empty if the message has them all
     */
    public List<String> missingFrom(String message) {
        String m = message == null ? "" : message;
        List<String> missing = new ArrayList<>();
        for (List<String> group : groups) {
            if (group.stream().noneMatch(t -> contains(m, t))) {
                missing.add(String.join(" or ", group));
            }
        }
        return missing;
    }

    static boolean contains(String message, String token) {
        if (token.matches("-?[0-9]+")) {
            return Pattern.compile("(?<![0-9.\\-])" + Pattern.quote(token) + "(?![0-9]|\\.[0-9])")
                    .matcher(message)
                    .find();
        }
        return message.toLowerCase(Locale.ROOT).contains(token.toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return groups.stream().map(g -> String.join("|", g)).toList().toString();
    }
}
