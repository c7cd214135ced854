package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Choice by measurement between ways to run one call: an operation offers candidate plans (the primitive reading and
 * writing the caller's layouts, or oneDNN's preferred layouts with reorders around it, each with a few of the
 * implementations oneDNN offers for them), and the fastest, timed on zeroed tensors shaped and laid out as the
 * call's, is kept. The first candidate is the operation's default (oneDNN's first choice); another replaces it only
 * if it is more than {@link #MARGIN} faster, twice (a second timing of the two alone confirms it, or a third where
 * the second disagrees), so timing noise does not overrule oneDNN's ranking.
 *
 * <p>A choice is timed once per machine: it is remembered in {@link Choices#standard()}, keyed by oneDNN's version,
 * the CPU ISA, the thread count and what the operation says it is (shapes, layouts), and the next JVM builds the
 * chosen plan alone. Timing happens when a plan is built (the first call with a new shape or layout), one timing at
 * a time in the process; calls after it allocate nothing new.
 *
 * <p>{@code -Donednn4j.layoutChoice=first} turns measuring off: every operation takes its first candidate, as oneDNN
 * ranks them.
 */
public final class PlanChoice {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");

    /** How much faster than the first candidate another must time to replace it. */
    static final double MARGIN = 0.05;
    /** The choosing rule's version, in every key: choices saved under an earlier rule are made again. */
    private static final String RULE = "v5";
    /**
     * Timing rounds (the best counts): fewer than kernel choice's, as a layer's first call waits for them, but enough
     * that every candidate gets rounds after the JVM has compiled the call path (a small layer's call is a few
     * microseconds, of which Java's share changes as it does).
     */
    private static final int ROUNDS = 8;
    /**
     * A call of the default plan slower than this is not compared with the others: timing them all would hold the
     * first call up for seconds, and the reorders' share of so long a call is small.
     */
    static final long SLOW_CALL_NANOS = 100_000_000L;

    private static final AtomicLong TIMED = new AtomicLong();
    private static final AtomicLong REUSED = new AtomicLong();

    private PlanChoice() {}

    /**
     * One way to run a call.
     *
     * @param name what it is, e.g. {@code src acdb (from abcd), dst acdb (to abcd): brg_conv_fwd:avx512_core}: the
     *     value remembered, so it must name the same plan in every JVM on the same machine
     * @param plan builds the plan (each call a new one)
     */
    public record Candidate(String name, Supplier<Plan> plan) {}

    /** Whether operations measure their candidates ({@code -Donednn4j.layoutChoice}, {@code measure} by default). */
    public static boolean measuring() {
        String mode = System.getProperty("onednn4j.layoutChoice", "measure");
        return switch (mode) {
            case "measure" -> true;
            case "first" -> false;
            default ->
                throw new IllegalArgumentException(
                        "-Donednn4j.layoutChoice must be measure or first, got '" + mode + "'");
        };
    }

    /**
     * The plan of the fastest of {@code candidates} (the first unless another is more than {@link #MARGIN} faster).
     *
     * @param what       the operation with its shapes and the call's layouts: with the machine, the key of the choice
     * @param candidates at least one; the first is the default
     * @param like       tensors shaped and laid out as the call's, in slot order (their values are not read)
     */
    public static Plan choose(String what, List<Candidate> candidates, TensorImpl... like) {
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("no candidate plan for " + what);
        }
        if (candidates.size() == 1 || !measuring() || empty(like)) {
            return candidates.get(0).plan().get();
        }
        Choices choices = Choices.standard();
        String key = "plan " + RULE + "|" + Choices.machine(0) + "|" + what;
        String known = choices.get(key);
        if (known != null) {
            for (Candidate c : candidates) {
                if (c.name().equals(known)) {
                    REUSED.incrementAndGet();
                    return c.plan().get();
                }
            }
        }
        synchronized (PlanChoice.class) { // one timing at a time: two would slow each other down
            Plan chosen = measure(what, candidates, like, key, choices);
            TIMED.incrementAndGet();
            return chosen;
        }
    }

    private static Plan measure(
            String what, List<Candidate> candidates, TensorImpl[] like, String key, Choices choices) {
        List<Plan> plans = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<TensorImpl> scratch = new ArrayList<>();
        int chosen = 0;
        try {
            for (TensorImpl t : like) {
                TensorImpl zeros = TensorImpl.empty(t.dtype(), t.format(), t.shape());
                scratch.add(zeros);
                zeros.writeZeros(); // backed by real pages, as the caller's are: not read from the shared zero page
            }
            TensorImpl[] tensors = scratch.toArray(new TensorImpl[0]);
            plans.add(candidates.get(0).plan().get()); // the default must build: its failure is the caller's
            names.add(candidates.get(0).name());
            long t0 = System.nanoTime();
            plans.get(0).run(tensors);
            if (System.nanoTime() - t0 > SLOW_CALL_NANOS) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: one call takes over 100 ms, the default plan stays", what);
                return plans.get(0);
            }
            for (int i = 1; i < candidates.size(); i++) {
                Candidate c = candidates.get(i);
                Plan p = null;
                try {
                    p = c.plan().get();
                    p.run(tensors);
                    plans.add(p);
                    names.add(c.name());
                } catch (RuntimeException e) {
                    if (p != null) {
                        p.release();
                    }
                    LOG.log(System.Logger.Level.DEBUG, "{0}: candidate {1} does not run: {2}", what, c.name(), e);
                }
            }
            double[] ms = time(plans, tensors);
            chosen = pick(ms);
            if (chosen != 0) {
                // confirmed by a second timing of the two alone: a noisy moment that favoured the winner once
                // rarely does so twice, and a wrong switch costs every call after it; where the two timings
                // disagree, a third decides (a noisy moment can as well hide a real winner, as the first calls
                // of a JVM, whose compiler threads share the cores, often do)
                List<Plan> two = List.of(plans.get(0), plans.get(chosen));
                double[] again = time(two, tensors);
                if (pick(again) == 0) {
                    again = time(two, tensors);
                }
                if (pick(again) == 0) {
                    LOG.log(
                            System.Logger.Level.DEBUG,
                            "{0}: {1} was not faster again ({2} against {3} ms): the default stays",
                            what,
                            names.get(chosen),
                            again[1],
                            again[0]);
                    chosen = 0;
                }
            }
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                List<String> report = new ArrayList<>();
                for (int i = 0; i < ms.length; i++) {
                    report.add(String.format(Locale.ROOT, "%s %.4f ms", names.get(i), ms[i]));
                }
                LOG.log(System.Logger.Level.DEBUG, "plan choice for {0}: {1}", what, String.join("; ", report));
            }
            choices.put(key, names.get(chosen));
            return plans.get(chosen);
        } finally {
            for (int i = 0; i < plans.size(); i++) {
                if (i != chosen) {
                    plans.get(i).release();
                }
            }
            for (TensorImpl t : scratch) {
                t.close();
            }
        }
    }

    private static boolean empty(TensorImpl[] like) {
        for (TensorImpl t : like) {
            if (TensorImpl.numel(t.shapeRef()) == 0) {
                return true;
            }
        }
        return false;
    }

    /** Milliseconds per call of each plan ({@link Timing#perCall}). */
    private static double[] time(List<Plan> plans, TensorImpl[] tensors) {
        List<Runnable> calls = new ArrayList<>();
        for (Plan p : plans) {
            calls.add(() -> p.run(tensors));
        }
        return Timing.perCall(calls, () -> {}, ROUNDS);
    }

    /** {@link Timing#pick} with {@link #MARGIN}. */
    static int pick(double[] ms) {
        return Timing.pick(ms, MARGIN);
    }

    /** Choices timed and choices reused from {@link Choices} in this process so far: {@code {timed, reused}}. */
    public static long[] counts() {
        return new long[] {TIMED.get(), REUSED.get()};
    }
}
