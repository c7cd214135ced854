package dev.onednn4j.fuzz;

/**
 * A generated case before it is numbered: what {@link Generator} wraps into a {@link FuzzCase}.
 *
 * @param layer       the layer's class name
 * @param valid       whether the configuration is valid
 * @param description the configuration, input and call
 * @param body        running and judging it
 */
record Made(String layer, boolean valid, String description, FuzzCase.Body body) {

    /** A valid case over a setup. */
    static Made valid(LayerSpec spec, Input in, Call call, long seed) {
        return new Made(spec.layer(), true, spec + " on " + in + ", " + call, ValidCase.body(spec, in, call, seed));
    }

    /** An invalid case: {@code rule} names what is broken. */
    static Made invalid(String layer, String rule, String setup, Expected expected, Refusal.Attempt attempt) {
        return new Made(
                layer,
                false,
                "[" + rule + "] " + setup + "; expects a refusal naming " + expected,
                Refusal.body(expected, attempt));
    }
}
