package dev.onednn4j.nn;

import dev.onednn4j.internal.op.Eltwise;
import java.util.Objects;

/**
 * The Gaussian error linear unit, as PyTorch's {@code nn.GELU}: {@code x * Phi(x)} with {@code Phi} the standard
 * normal CDF ({@code approximate = "none"}, erf-based), or its tanh approximation ({@code "tanh"}), on oneDNN's
 * eltwise primitive. Any shape and layout; the output keeps the input's.
 */
public final class GELU extends Activation {
    private final String approximate;

    /** {@code nn.GELU()}: the exact, erf-based form. */
    public GELU() {
        this("none");
    }

    /**
     * {@code nn.GELU(approximate)}: {@code "none"} or {@code "tanh"}.
     *
     * @param approximate {@code "none"} for the erf-based form, {@code "tanh"} for the tanh approximation
     * @throws IllegalArgumentException for any other value
     */
    public GELU(String approximate) {
        super(kindOf(approximate), 0, false);
        this.approximate = approximate;
    }

    private static Eltwise.Kind kindOf(String approximate) {
        Objects.requireNonNull(approximate, "approximate");
        return switch (approximate) {
            case "none" -> Eltwise.Kind.GELU;
            case "tanh" -> Eltwise.Kind.GELU_TANH;
            default ->
                throw new IllegalArgumentException("approximate argument must be either none or tanh, but got "
                        + "approximate='" + approximate + "'");
        };
    }

    /**
     * {@code "none"} or {@code "tanh"}.
     *
     * @return the {@code approximate} the layer was built with
     */
    public String approximate() {
        return approximate;
    }

    @Override
    public String extraRepr() {
        return "approximate='" + approximate + "'";
    }
}
