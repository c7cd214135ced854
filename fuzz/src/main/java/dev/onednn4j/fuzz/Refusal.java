package dev.onednn4j.fuzz;

/** Runs what an invalid case attempts and judges the refusal ({@link Checks#refusal}). */
final class Refusal {
    private Refusal() {}

    /** What an invalid case does: builds a layer, calls it. */
    @FunctionalInterface
    interface Attempt {
        void run() throws Exception;
    }

    /** What {@code attempt} threw, or null if it completed: an Error is caught too, as a finding to report. */
    static Throwable thrown(Attempt attempt) {
        try {
            attempt.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** A case body: {@code attempt} must be refused with a message naming {@code expected}. */
    static FuzzCase.Body body(Expected expected, Attempt attempt) {
        return trace -> Checks.refusal(thrown(attempt), expected);
    }
}
