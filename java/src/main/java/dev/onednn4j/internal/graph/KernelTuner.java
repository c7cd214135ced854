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
 * zeroed buffers and keeps the fastest. Choices are kept in a properties file keyed by oneDNN's version, the CPU
 * ISA, the thread count and the primitive's full description (shapes, layouts, post-ops), so another JVM compiling
 * the same network times nothing.
 */
final class KernelTuner {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");
    /** Timing runs per candidate after two warm-ups, or fewer if one run takes long. */
    private static final int RUNS = 10;

    private final Path file;
    private final Properties choices = new Properties();
    private final String prefix;
    private boolean dirty;
    private int timed;
    private int reused;

    KernelTuner(Path file, int threads) {
        this.file = file;
        this.prefix = DnnlLibrary.load().version().number() + "|" + Dnnl.effectiveCpuIsa() + "|" + threads + "|";
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
        List<Double> times = new ArrayList<>();
        try (MemoryDesc src = first.query(Arg.SRC).copy();
                MemoryDesc dst = first.query(Arg.DST).copy()) {
            PrimitiveDesc pd = first;
            do {
                String name = pd.implementation();
                if (!name.startsWith("ref")
                        && pd.query(Arg.SRC).sameAs(src)
                        && pd.query(Arg.DST).sameAs(dst)) {
                    names.add(name);
                    times.add(time(pd));
                }
            } while (pd.nextImplementation());
            pd.close();
        }
        timed++;
        int best = 0;
        for (int i = 1; i < times.size(); i++) {
            if (times.get(i) < times.get(best)) {
                best = i;
            }
        }
        String name = names.isEmpty() ? null : names.get(best);
        PrimitiveDesc chosen = factory.get();
        if (name == null) {
            return chosen;
        }
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            List<String> report = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                report.add(String.format(Locale.ROOT, "%s %.3f ms", names.get(i), times.get(i)));
            }
            LOG.log(System.Logger.Level.DEBUG, "kernel choice for " + chosen + ": " + String.join(", ", report));
        }
        choices.setProperty(key, name);
        dirty = true;
        PrimitiveDesc pd = advanceTo(chosen, name);
        return pd != null ? pd : factory.get();
    }

    /** {@code pd} moved to the implementation named {@code name}, or null (and closed) if there is none. */
    private static PrimitiveDesc advanceTo(PrimitiveDesc pd, String name) {
        while (!pd.implementation().equals(name)) {
            if (!pd.nextImplementation()) {
                pd.close();
                return null;
            }
        }
        return pd;
    }

    /** Milliseconds per run of {@code pd}'s primitive on zeroed buffers: the best of a few runs. */
    private static double time(PrimitiveDesc pd) {
        Engine engine = Engine.cpu();
        List<AutoCloseable> owned = new ArrayList<>();
        try (Primitive p = Primitive.create(pd);
                Stream stream = Stream.create(engine);
                ExecArgs args = new ExecArgs(5)) {
            // convolutions and linear layers, whose fused post-ops (element-wise, sum) take no other argument
            for (Arg a : List.of(Arg.SRC, Arg.WEIGHTS, Arg.BIAS, Arg.DST)) {
                MemoryDesc md = pd.query(a);
                if (md != null) {
                    Memory m = Memory.allocate(md, engine);
                    owned.add(m);
                    m.zero();
                    args.add(a, m);
                }
            }
            long scratch = pd.scratchpadDesc().byteSize();
            if (scratch > 0) {
                Memory m = Memory.allocate(pd.scratchpadDesc(), engine);
                owned.add(m);
                args.add(Arg.SCRATCHPAD, m);
            }
            p.execute(stream, args);
            p.execute(stream, args);
            long best = Long.MAX_VALUE;
            long budget = System.nanoTime() + 200_000_000L;
            for (int i = 0; i < RUNS && (i < 3 || System.nanoTime() < budget); i++) {
                long t0 = System.nanoTime();
                p.execute(stream, args);
                stream.await();
                best = Math.min(best, System.nanoTime() - t0);
            }
            return best / 1e6;
        } finally {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.WARNING, "closing a timing buffer: " + e);
                }
            }
        }
    }

    /** Writes new choices (atomically: a temporary file renamed over the old one); returns what was done. */
    String finish() {
        if (dirty && file != null) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "kernel-choices", ".tmp");
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    choices.store(
                            w, "onednn4j kernel choices: oneDNN version|CPU ISA|threads|primitive -> implementation");
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
