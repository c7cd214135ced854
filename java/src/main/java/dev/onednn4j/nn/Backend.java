package dev.onednn4j.nn;

/** Which implementation a module's operations run on; see {@link Module#to(Backend)}. */
public enum Backend {
    /** oneDNN's primitives: the fast path, and the default. */
    ONEDNN,
    /**
     * The pure-Java reference loops: plain, slow, accumulating in double. For cross-checking a whole
     * network against oneDNN, not for production.
     */
    REFERENCE
}
