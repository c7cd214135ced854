package dev.onednn4j.nn;

import java.math.BigDecimal;

/** Values printed as Python prints them, so a module's repr reads as PyTorch's. */
final class Repr {
    private Repr() {}

    /**
     * A double as Python's {@code repr(float)}: the shortest digits that round-trip, positional for exponents
     * from -4 to 15 ({@code 0.1}, {@code 0.0001}, {@code 2.0}), scientific otherwise with at least two exponent
     * digits ({@code 1e-05}, {@code 1e+16}).
     */
    static String pyFloat(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0.0" : "0.0";
        }
        BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros(); // shortest round-trip digits
        int exponent = d.precision() - d.scale() - 1;
        if (exponent >= -4 && exponent < 16) {
            String plain = d.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String digits = d.unscaledValue().abs().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String exp = String.format(java.util.Locale.ROOT, "%s%02d", exponent < 0 ? "-" : "+", Math.abs(exponent));
        return (v < 0 ? "-" : "") + mantissa + "e" + exp;
    }

    /** An argument given as one int or a pair, as the user gave it: {@code 3} or {@code (3, 2)}. */
    static String intOrPair(boolean pair, int a, int b) {
        return pair ? "(" + a + ", " + b + ")" : Integer.toString(a);
    }

    /** Python's bool. */
    static String pyBool(boolean b) {
        return b ? "True" : "False";
    }
}
