package dev.onednn4j.fuzz;

/**
 * How one case of a run ended.
 *
 * @param index        the case's index
 * @param layer        the layer's class name
 * @param valid        whether the configuration was valid
 * @param description  the configuration, input and call
 * @param status       the verdict
 * @param detail       what was checked, or what went wrong (for a crash: the exit code, the JVM's crash summary and
 *                     the last lines of the child's output)
 * @param kernel       the oneDNN implementation the case's plan used, or null (no plan: invalid, empty, Flatten)
 * @param nonFinite    whether the input held NaN or infinities
 * @param weakEvidence whether the reference output was mostly zeros
 * @param millis       how long the case took
 */
public record Outcome(
        long index,
        String layer,
        boolean valid,
        String description,
        Status status,
        String detail,
        String kernel,
        boolean nonFinite,
        boolean weakEvidence,
        double millis) {}
