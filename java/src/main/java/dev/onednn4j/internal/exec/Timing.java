package dev.onednn4j.internal.exec;

import java.util.Arrays;
import java.util.List;

/**
 * Timing candidates against each other, as kernel and layout choice by measurement do: interleaved rounds, each giving
 * every candidate in turn a run of back-to-back calls lasting at least {@link #TURN_NANOS} (a service's steady pace,
 * not a single lucky call), the best round counting, so that a slow moment of the machine hits all of them alike.
 */
public final class Timing {
    /** What one candidate's turn in a round lasts at least. */
    static final long TURN_NANOS = 1_000_000L;
    /** At most this many calls in a turn, however short the call. */
    private static final int MAX_CALLS = 10_000;
    /** Rounds after the warm-up, unless a caller asks for fewer; after the third, only while {@link #BUDGET_NANOS} lasts. */
    public static final int ROUNDS = 10;

    private static final long BUDGET_NANOS = 400_000_000L;

    private Timing() {}

    /**
     * Milliseconds per call of each candidate.
     *
     * @param candidates each runs one call
     * @param sync       waits for the calls started so far to finish (after each run of back-to-back calls)
     * @param rounds     at most this many rounds (at least 3 are run)
     */
    public static double[] perCall(List<Runnable> candidates, Runnable sync, int rounds) {
        int[] calls = new int[candidates.size()];
        double[] best = new double[candidates.size()];
        Arrays.fill(best, Double.MAX_VALUE);
        for (int i = 0; i < calls.length; i++) {
            // warm-up: one call, then back-to-back calls for one turn's length, which counts how many fit in it
            Runnable c = candidates.get(i);
            c.run();
            sync.run();
            long t0 = System.nanoTime();
            int n = 0;
            do {
                c.run();
                sync.run();
                n++;
            } while (n < MAX_CALLS && System.nanoTime() - t0 < TURN_NANOS);
            calls[i] = n;
        }
        long deadline = System.nanoTime() + BUDGET_NANOS;
        for (int r = 0; r < Math.max(3, rounds) && (r < 3 || System.nanoTime() < deadline); r++) {
            for (int i = 0; i < calls.length; i++) {
                Runnable c = candidates.get(i);
                long t0 = System.nanoTime();
                for (int k = 0; k < calls[i]; k++) {
                    c.run();
                }
                sync.run();
                best[i] = Math.min(best[i], (System.nanoTime() - t0) / (double) calls[i]);
            }
        }
        double[] ms = new double[best.length];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = best[i] / 1e6;
        }
        return ms;
    }

    /**
     * The index to keep, given each candidate's time: the fastest, unless it is not more than {@code margin} (a
     * fraction) faster than the first (index 0), the default, which then stays: timing noise must not overrule
     * oneDNN's own ranking.
     */
    public static int pick(double[] ms, double margin) {
        int best = 0;
        for (int i = 1; i < ms.length; i++) {
            if (ms[i] < ms[best]) {
                best = i;
            }
        }
        return ms.length > 0 && ms[best] < ms[0] * (1 - margin) ? best : 0;
    }
}
