package dev.onednn4j.spark;

import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;

/**
 * One compiled model per {@link ModelSpec} per JVM: a Spark executor loads the state dict and compiles the model the
 * first time one of its tasks asks, and every later task of any job in that executor (running concurrently or not)
 * uses the same {@link CompiledModule}, which is thread-safe (each concurrent call has its own activation memory).
 * The models are closed when the JVM exits, or by {@link #closeAll()}.
 */
public final class ExecutorModels {
    private static final ConcurrentHashMap<ModelSpec, CompiledModule> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "onednn4j-models-close"));
    }

    private ExecutorModels() {}

    /**
     * This JVM's model for {@code spec}, loaded and compiled on first use (once: concurrent first callers wait for
     * the one load).
     *
     * @param spec the model
     * @return the shared compiled model; do not close it
     * @throws UncheckedIOException if the state dict cannot be read or does not fit the model
     */
    public static CompiledModule get(ModelSpec spec) {
        return MODELS.computeIfAbsent(spec, ExecutorModels::load);
    }

    /**
     * How many models this JVM has loaded so far.
     *
     * @return the number of loads (a spec reloaded after {@link #closeAll()} counts again)
     */
    public static int loads() {
        return LOADS.get();
    }

    /** Closes every loaded model (waiting for calls that are running) and forgets them. */
    public static void closeAll() {
        List<CompiledModule> open = new ArrayList<>(MODELS.values());
        MODELS.clear();
        for (CompiledModule m : open) {
            m.close();
        }
    }

    private static CompiledModule load(ModelSpec spec) {
        Path weights = weightsFile(spec.weights());
        try (Module net = spec.newModule()) {
            net.loadSafeTensors(weights, true); // PyTorch's names, every parameter and buffer
            net.eval();
            CompiledModule compiled = net.compile(spec.compileOptions());
            LOADS.incrementAndGet();
            return compiled;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + weights + " into " + spec.model(), e);
        }
    }

    /** The file itself if readable here, else the file of that name shipped with spark-submit --files. */
    static Path weightsFile(String weights) {
        Path p = Path.of(weights);
        if (Files.isReadable(p)) {
            return p;
        }
        if (SparkEnv.get() != null) {
            Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
            if (Files.isReadable(shipped)) {
                return shipped;
            }
        }
        throw new UncheckedIOException(new FileNotFoundException(weights
                + ": no such readable file on this executor, nor shipped with --files (use a path every executor"
                + " can read, or spark-submit --files " + weights + ")"));
    }
}
