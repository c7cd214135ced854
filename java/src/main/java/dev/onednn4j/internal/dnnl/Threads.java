package dev.onednn4j.internal.dnnl;

import dev.onednn4j.natives.OpenMp;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many OpenMP threads oneDNN uses. OpenMP keeps the count per calling thread, and oneDNN fixes it into a
 * primitive when the primitive is created; so the process-wide setting is applied to each calling thread just
 * before it creates or runs a primitive (one native call the first time a thread sees a new setting, none after),
 * and plans are keyed by it.
 */
public final class Threads {
    /** 0: OpenMP's own default ({@code OMP_NUM_THREADS}, else every core). */
    private static final AtomicInteger SETTING = new AtomicInteger();

    /** What this thread was last set to; 0 while it has OpenMP's default. */
    private static final ThreadLocal<int[]> APPLIED = ThreadLocal.withInitial(() -> new int[] {0});

    /** OpenMP's default count, read on a thread no one has changed yet; 0 until read. */
    private static volatile int openMpDefault;

    private Threads() {}

    /** Sets the count for every calling thread from now on; 0 restores OpenMP's default. */
    public static void set(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException(
                    "the number of threads must be >= 1, or 0 for OpenMP's default, got " + threads);
        }
        SETTING.set(threads);
    }

    /** The setting: a count, or 0 for OpenMP's default. */
    public static int setting() {
        return SETTING.get();
    }

    /**
     * Applies the setting to the calling thread, if it has not been already, and returns it (the key plans are
     * built for). Allocates nothing once the thread has seen it.
     */
    public static int applyToCallingThread() {
        return applyToCallingThread(0);
    }

    /**
     * {@link #applyToCallingThread()} with a caller's own count, which wins over the setting unless it is 0.
     *
     * @param override a count, or 0 for the process-wide setting
     */
    public static int applyToCallingThread(int override) {
        int want = override != 0 ? override : SETTING.get();
        int[] applied = APPLIED.get();
        if (applied[0] != want) {
            Dnnl.ensureLoaded();
            int restore = openMpDefault();
            OpenMp.setNumThreads(want == 0 ? restore : want);
            applied[0] = want;
        }
        return want;
    }

    /** OpenMP's own default, read before this library changes anything on any thread. */
    private static int openMpDefault() {
        int d = openMpDefault;
        if (d == 0) {
            synchronized (Threads.class) {
                d = openMpDefault;
                if (d == 0) {
                    // called only on a thread still at the default (its APPLIED is 0), before any change
                    d = OpenMp.maxThreads();
                    openMpDefault = d;
                }
            }
        }
        return d;
    }

    /**
     * The OpenMP threads a primitive created now on the calling thread would use, as things stand: unlike
     * {@link #effective()}, applies nothing (a caller's own count set by {@link #applyToCallingThread(int)} stays).
     */
    public static int current() {
        Dnnl.ensureLoaded();
        return OpenMp.maxThreads();
    }

    /** The OpenMP threads a primitive created now on the calling thread would use. */
    public static int effective() {
        applyToCallingThread();
        return OpenMp.maxThreads();
    }
}
