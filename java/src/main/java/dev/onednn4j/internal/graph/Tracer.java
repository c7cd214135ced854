package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.memory.TensorImpl;

/**
 * Where library code asks whether its call is being traced, as {@code torch.jit.trace} runs a module once and
 * records what it does. A trace belongs to the thread that runs it; other threads are never affected. When no trace
 * is active anywhere the check is one volatile read.
 */
public final class Tracer {
    private static final ThreadLocal<Trace> CURRENT = new ThreadLocal<>();
    private static volatile int active;

    private Tracer() {}

    /** The calling thread's trace, or null: the check every recordable operation makes first. */
    public static Trace current() {
        return active == 0 ? null : CURRENT.get();
    }

    /** Makes {@code trace} the calling thread's until {@link #end}. */
    static synchronized void begin(Trace trace) {
        if (CURRENT.get() != null) {
            throw new IllegalStateException("a module is already being compiled on this thread");
        }
        CURRENT.set(trace);
        active++;
    }

    static synchronized void end(Trace trace) {
        if (CURRENT.get() == trace) {
            CURRENT.remove();
            active--;
        }
    }

    /**
     * Called by {@link TensorImpl} before its values are read or written outside an operation: refuses it for a traced
     * tensor, whose values do not exist yet (a compiled forward must not depend on them).
     */
    public static void access(TensorImpl t, String what) {
        Trace trace = current();
        if (trace != null) {
            trace.checkAccess(t, what);
        }
    }

    /**
     * Called by {@link TensorImpl#copyFrom(TensorImpl)}: records the copy of a traced tensor into {@code to} (a layout change
     * such as {@code reshape} of a channels-last tensor) and returns true, or returns false if {@code from} is not
     * traced (then the copy happens as usual).
     */
    public static boolean copy(TensorImpl from, TensorImpl to) {
        Trace trace = current();
        return trace != null && trace.copy(from, to);
    }
}
