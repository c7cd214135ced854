package dev.onednn4j.fuzz;

/** How a fuzz case ended. */
public enum Status {
    /** The layer did what it should: a result within its bound, or a clear refusal. */
    PASS,
    /**
     * A valid case whose result is outside the bound (or which threw), or an invalid case that was accepted, threw
     * an {@link Error} or reached oneDNN.
     */
    WRONG,
    /** An invalid case refused with an exception whose message does not state the values it was refused for. */
    UNCLEAR,
    /** The JVM running the case died (a native crash such as SIGSEGV, or an abort). */
    CRASH,
    /** The case ran past the time limit and its JVM was killed. */
    HANG;

    /** Whether this status makes the run fail. */
    public boolean failed() {
        return this != PASS;
    }
}
