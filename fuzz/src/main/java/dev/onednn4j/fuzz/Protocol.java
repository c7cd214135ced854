package dev.onednn4j.fuzz;

import java.util.ArrayList;
import java.util.List;

/**
 * The lines a child JVM prints for its supervisor, one per event, flushed at once: {@code hello} (oneDNN's version
 * and ISA), {@code start} (a case's index, layer, validity and description, printed before the case makes any
 * native call), {@code kernel} (the oneDNN implementation its plan chose, printed before the plan runs) and
 * {@code end} (the verdict). Fields are tab-separated, with backslash, tab and line breaks escaped; any other line
 * (the JVM's own crash report, for one) is not protocol and is kept as output.
 */
final class Protocol {
    private Protocol() {}

    static final String PREFIX = "@@fuzz";

    static String line(String kind, Object... fields) {
        StringBuilder s = new StringBuilder(PREFIX).append('\t').append(kind);
        for (Object f : fields) {
            s.append('\t').append(escape(String.valueOf(f)));
        }
        return s.toString();
    }

    /** The kind and fields of a protocol line, unescaped; null for any other line. */
    static List<String> parse(String line) {
        if (!line.startsWith(PREFIX + "\t")) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String f : line.substring(PREFIX.length() + 1).split("\t", -1)) {
            out.add(unescape(f));
        }
        return out;
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                b.append(
                        switch (n) {
                            case 't' -> '\t';
                            case 'n' -> '\n';
                            case 'r' -> '\r';
                            default -> n;
                        });
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
