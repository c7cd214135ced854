package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.ExecArgs;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Primitive;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.dnnl.Stream;
import dev.onednn4j.internal.exec.Choices;
import dev.onednn4j.internal.exec.Timing;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Kernel choice by measurement: of the implementations oneDNN offers for a primitive
 * ({@code dnnl_primitive_desc_next_impl}) that read and write the same layouts as its first choice, times each on
 * zeroed buffers (in interleaved rounds) and keeps the fastest, if it beats the first choice by more than
 * {@link #MARGIN}. Choices are kept in {@link Choices}, keyed by oneDNN's version, the CPU ISA, the thread count and
 * the primitive's full description (shapes, layouts, post-ops), so another JVM compiling the same network times
 * nothing.
 */
final class KernelTuner {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");
    /**
     * How much faster than oneDNN's first choice another implementation must time to replace it: oneDNN ranks its
     * implementations for the shape, and a difference within timing noise is no reason to overrule it.
     */
    static final double MARGIN = 0.05;
    /** The choosing rule's version, first in every key: choices saved under an earlier rule are made again. */
    private static final String RULE = "v4";

    private final Choices choices;
    private final String prefix;
    private int timed;
    private int reused;

    /**
     * @param choices where choices are remembered
     * @param threads the compiled module's own thread count, or 0 for the process-wide setting: the key records the
     *     count its primitives will run with
     */
    KernelTuner(Choices choices, int threads) {
        this.choices = choices;
        this.prefix = "kernel " + RULE + "|" + Choices.machine(threads) + "|";
    }

    /**
     * The fastest implementation of what {@code factory} describes (a fresh descriptor at its first choice each
     * time it is called), among those with the first choice's source and destination layouts; {@code first} is a
     * descriptor the factory made, closed here unless returned.
     */
    PrimitiveDesc choose(PrimitiveDesc first, Supplier<PrimitiveDesc> factory) {
        String key = prefix + first;
        String known = choices.get(key);
        if (known != null) {
            PrimitiveDesc pd = advanceTo(first, known);
            if (pd != null) {
                reused++;
                return pd;
            }
            first = factory.get(); // the cached name no longer exists: time again
        }
        List<String> names = new ArrayList<>();
        List<Candidate> candidates = new ArrayList<>();
        double[] times;
        Engine engine = Engine.cpu();
        List<Memory> shared = new ArrayList<>(); // source and destination: the same layouts for every candidate
        try (MemoryDesc src = first.query(Arg.SRC).copy();
                MemoryDesc dst = first.query(Arg.DST).copy()) {
            shared.add(zeroed(src, engine));
            shared.add(zeroed(dst, engine));
            PrimitiveDesc pd = first;
            try {
                do {
                    String name = pd.implementation();
                    if (!name.startsWith("ref")
                            && !names.contains(name)
                            && pd.query(Arg.SRC).sameAs(src)
                            && pd.query(Arg.DST).sameAs(dst)) {
                        names.add(name);
                        candidates.add(new Candidate(pd, shared.get(0), shared.get(1)));
                    }
                } while (pd.nextImplementation());
            } finally {
                pd.close();
            }
            times = time(candidates);
        } finally {
            for (Candidate c : candidates) {
                c.close();
            }
            for (Memory m : shared) {
                m.close();
            }
        }
        timed++;
        int best = pick(times);
        String name = names.isEmpty() ? null : names.get(best);
        PrimitiveDesc chosen = factory.get();
        if (name == null) {
            return chosen;
        }
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            List<String> report = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                report.add(String.format(Locale.ROOT, "%s %.3f ms", names.get(i), times[i]));
            }
            LOG.log(System.Logger.Level.DEBUG, "kernel choice for " + chosen + ": " + String.join(", ", report));
        }
        choices.put(key, name);
        PrimitiveDesc pd = advanceTo(chosen, name);
        return pd != null ? pd : factory.get();
    }

    /** {@link Timing#pick} with {@link #MARGIN}. */
    static int pick(double[] ms) {
        return Timing.pick(ms, MARGIN);
    }

    /**
     * {@code pd} moved to the implementation named {@code name} that reads and writes the layouts of its first
     * choice (as the timed one did), or null (and closed) if there is none.
     */
    private static PrimitiveDesc advanceTo(PrimitiveDesc pd, String name) {
        try (MemoryDesc src = pd.query(Arg.SRC).copy();
                MemoryDesc dst = pd.query(Arg.DST).copy()) {
            while (!(pd.implementation().equals(name)
                    && pd.query(Arg.SRC).sameAs(src)
                    && pd.query(Arg.DST).sameAs(dst))) {
                if (!pd.nextImplementation()) {
                    pd.close();
                    return null;
                }
            }
            return pd;
        }
    }

    /**
     * A candidate implementation, ready to run: its primitive, the shared source and destination, and zeroed weights,
     * bias and scratchpad of its own (their layouts may differ between candidates).
     */
    private static final class Candidate implements AutoCloseable {
        final List<AutoCloseable> owned = new ArrayList<>();
        final Primitive primitive;
        final ExecArgs args = new ExecArgs(5);

        Candidate(PrimitiveDesc pd, Memory src, Memory dst) {
            owned.add(args);
            try {
                primitive = Primitive.create(pd);
                owned.add(primitive);
                Engine engine = Engine.cpu();
                args.add(Arg.SRC, src);
                args.add(Arg.DST, dst);
                // convolutions and linear layers, whose fused post-ops (element-wise, sum) take no other argument
                for (Arg a : List.of(Arg.WEIGHTS, Arg.BIAS)) {
                    MemoryDesc md = pd.query(a);
                    if (md != null) {
                        args.add(a, own(zeroed(md, engine)));
                    }
                }
                if (pd.scratchpadDesc().byteSize() > 0) {
                    args.add(Arg.SCRATCHPAD, own(zeroed(pd.scratchpadDesc(), engine)));
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private Memory own(Memory m) {
            owned.add(m);
            return m;
        }

        @Override
        public void close() {
            for (AutoCloseable c : owned.reversed()) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.WARNING, "closing a timing buffer: " + e);
                }
            }
            owned.clear();
        }
    }

    private static Memory zeroed(MemoryDesc md, Engine engine) {
        Memory m = Memory.allocate(md, engine);
        try {
            m.zero();
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
        return m;
    }

    /** Milliseconds per call of each candidate ({@link Timing#perCall}), on one stream. */
    private static double[] time(List<Candidate> candidates) {
        try (Stream stream = Stream.create(Engine.cpu())) {
            List<Runnable> calls = new ArrayList<>();
            for (Candidate c : candidates) {
                calls.add(() -> c.primitive.execute(stream, c.args));
            }
            return Timing.perCall(calls, stream::await, Timing.ROUNDS);
        }
    }

    /** What was done: how many primitives were timed, how many choices were reused, and from where. */
    String report() {
        return String.format(Locale.ROOT, "kernels: %d timed, %d from %s", timed, reused, choices.file());
    }
}
