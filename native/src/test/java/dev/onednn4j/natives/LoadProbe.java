package dev.onednn4j.natives;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/** A child JVM for {@link NativeLibraryTest} and {@link ModulePathTest}: waits for a start signal, loads oneDNN, reports. */
public final class LoadProbe {
    private LoadProbe() {}

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
