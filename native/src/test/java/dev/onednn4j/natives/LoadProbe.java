package dev.onednn4j.natives;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A child JVM for {@link NativeLibraryTest} and {@link ModulePathTest}: waits for a start signal, loads oneDNN, reports. */
public final class LoadProbe {
    private LoadProbe() {}

    /**
     * Starts this probe in a fresh JVM (this JVM's java and class path), without the library, cache and OpenMP wait
     * variables of this environment, plus {@code env}.
     *
     * @param goFile a file whose appearance starts the load, or null to load at once
     */
    static Process start(List<String> jvmArgs, String goFile, Map<String, String> env) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoadProbe.class.getName());
        if (goFile != null) {
            cmd.add(goFile);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(DnnlLibrary.LIBRARY_ENV);
        pb.environment().remove(DnnlLibrary.CACHE_ENV);
        pb.environment().remove("OMP_WAIT_POLICY");
        pb.environment().remove("GOMP_SPINCOUNT");
        pb.environment().putAll(env);
        return pb.start();
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            Path go = Path.of(args[0]);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.exists(go)) {
                if (System.nanoTime() > deadline) {
                    System.err.println("no start signal at " + go);
                    System.exit(4);
                }
                Thread.onSpinWait();
            }
        }
        try {
            DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
            // Whether the OpenMP runtime found by path (bundled) or file name (override) is the one libdnnl is bound
            // to: in a fresh process with one copy of each, it must be. (libdnnl's lookup searches its dependencies
            // on Linux and macOS; on Windows it finds nothing, and there is nothing to compare.)
            long byName = NativeLoader.openMpRuntime(lib, Platform.current())
                    .find("omp_get_max_threads")
                    .orElseThrow()
                    .address();
            long bound = lib.lookup()
                    .find("omp_get_max_threads")
                    .map(MemorySegment::address)
                    .orElse(byName);
            System.out.println("loaded " + lib.source() + " " + lib.version().number() + " " + lib.path()
                    + " module=" + LoadProbe.class.getModule().getName()
                    + " openmp=" + (byName == bound ? "same" : "different")
                    + " threads=" + OpenMp.maxThreads()
                    + " GOMP_SPINCOUNT=" + OpenMpWait.getenv("GOMP_SPINCOUNT"));
        } catch (UnsatisfiedLinkError e) {
            System.err.println(e.getMessage());
            System.exit(3);
        }
    }
}
