package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.ExecArgs;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Primitive;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.dnnl.Stream;
import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.natives.DnnlLibrary;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * Kernel choice by measurement: of the implementations oneDNN offers for a primitive
 * ({@code dnnl_primitive_desc_next_impl}) that read and write the same layouts as its first choice, times each on
 * zeroed buffers (in interleaved rounds) and keeps the fastest, if it beats the first choice by more than
 * {@link #MARGIN}. Choices are kept in a properties file keyed by oneDNN's version, the CPU
 * ISA, the thread count and the primitive's full description (shapes, layouts, post-ops), so another JVM compiling
 * the same network times nothing.
 */
final class KernelTuner {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");
    /** Timing rounds (each runs every candidate in turn) after two warm-ups, or fewer if they take long. */
    private static final int ROUNDS = 10;
    /**
     * What one candidate's turn in a round lasts at least: back-to-back calls, as a service runs them, so that a short
     * primitive is timed over many calls (its per-call mean), not by its luckiest single call.
     */
    private static final long TURN_NANOS = 1_000_000L;
    /** At most this many calls in a turn, however short the primitive. */
    private static final int MAX_CALLS = 10_000;
    /**
     * How much faster than oneDNN's first choice another implementation must time to replace it: oneDNN ranks its
     * implementations for the shape, and a difference within timing noise is no reason to overrule it.
     */
    static final double MARGIN = 0.05;
    /** The choosing rule's version, first in every key: choices saved under an earlier rule are made again. */
    private static final String RULE = "v4";

    private final Path file;
    private final Properties choices = new Properties();
    private final String prefix;
    private boolean dirty;
    private int timed;
    private int reused;

    /**
     * @param threads the compiled module's own thread count, or 0 for the process-wide setting: the key records the
     *     count its primitives will run with
     */
    KernelTuner(Path file, int threads) {
        this.file = file;
        int effective = threads != 0 ? threads : Threads.effective();
        this.prefix = RULE + "|" + DnnlLibrary.load().version().number() + "|" + Dnnl.effectiveCpuIsa() + "|"
                + effective + "|";
        if (file != null && Files.isRegularFile(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                choices.load(r);
            } catch (IOException | IllegalArgumentException e) {
                LOG.log(System.Logger.Level.WARNING, "ignoring the unreadable kernel choices in " + file + ": " + e);
            }
        }
    }

    /** The default file: {@code onednn4j.kernelCache} (a path, or {@code off}), else beside the native library. */
    static Path defaultFile() {
        String setting = System.getProperty("onednn4j.kernelCache");
        if ("off".equals(setting)) {
            return null;
        }
        if (setting != null) {
            return Path.of(setting);
        }
        Path dir = DnnlLibrary.load().cacheDir();
        return dir == null ? null : dir.resolve("kernel-choices.properties");
    }

    /**
     * The fastest implementation of what {@code factory} describes (a fresh descriptor at its first choice each
     * time it is called), among those with the first choice's source and destination layouts; {@code first} is a
     * descriptor the factory made, closed here unless returned.
     */
    PrimitiveDesc choose(PrimitiveDesc first, Supplier<PrimitiveDesc> factory) {
        String key = prefix + first;
        String known = choices.getProperty(key);
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
        choices.setProperty(key, name);
        dirty = true;
        PrimitiveDesc pd = advanceTo(chosen, name);
        return pd != null ? pd : factory.get();
    }

    /**
     * The index of the implementation to keep, given each one's time: the fastest, unless it is not more than
     * {@link #MARGIN} faster than oneDNN's first choice (index 0), which then stays (timing noise must not overrule
     * oneDNN's ranking).
     */
    static int pick(double[] ms) {
        int best = 0;
        for (int i = 1; i < ms.length; i++) {
            if (ms[i] < ms[best]) {
                best = i;
            }
        }
        return ms.length > 0 && ms[best] < ms[0] * (1 - MARGIN) ? best : 0;
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

    /**
     * Milliseconds per call of each candidate: the best of {@link #ROUNDS} rounds, each giving every candidate in turn
     * a run of back-to-back calls lasting at least {@link #TURN_NANOS} (after two warm-up calls each), so that a slow
     * moment of the machine hits all of them alike and short primitives are timed at their steady pace.
     */
    private static double[] time(List<Candidate> candidates) {
        double[] best = new double[candidates.size()];
        int[] calls = new int[candidates.size()];
        java.util.Arrays.fill(best, Double.MAX_VALUE);
        try (Stream stream = Stream.create(Engine.cpu())) {
            for (int i = 0; i < calls.length; i++) {
                // warm-up: back-to-back calls for one turn's length, which also counts how many fit in it
                Candidate c = candidates.get(i);
                c.primitive.execute(stream, c.args);
                stream.await();
                long t0 = System.nanoTime();
                int n = 0;
                do {
                    c.primitive.execute(stream, c.args);
                    stream.await();
                    n++;
                } while (n < MAX_CALLS && System.nanoTime() - t0 < TURN_NANOS);
                calls[i] = n;
            }
            long budget = System.nanoTime() + 400_000_000L;
            for (int r = 0; r < ROUNDS && (r < 3 || System.nanoTime() < budget); r++) {
                for (int i = 0; i < best.length; i++) {
                    Candidate c = candidates.get(i);
                    long t0 = System.nanoTime();
                    for (int k = 0; k < calls[i]; k++) {
                        c.primitive.execute(stream, c.args);
                    }
                    stream.await();
                    best[i] = Math.min(best[i], (System.nanoTime() - t0) / (double) calls[i]);
                }
            }
        }
        double[] ms = new double[best.length];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = best[i] / 1e6;
        }
        return ms;
    }

    /** Writes new choices (atomically: a temporary file renamed over the old one); returns what was done. */
    String finish() {
        if (dirty && file != null) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "kernel-choices", ".tmp");
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    choices.store(
                            w,
                            "onednn4j kernel choices: rule|oneDNN version|CPU ISA|threads|primitive -> implementation");
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot save kernel choices to " + file + ": " + e);
            } catch (UncheckedIOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot save kernel choices to " + file + ": " + e.getCause());
            }
        }
        return String.format(Locale.ROOT, "kernels: %d timed, %d from %s", timed, reused, file);
    }
}
