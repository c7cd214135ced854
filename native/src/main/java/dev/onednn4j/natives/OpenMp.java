package dev.onednn4j.natives;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The thread count of the OpenMP runtime the loaded oneDNN runs on: {@code libgomp.so.1} on Linux,
 * {@code libiomp5.dylib} or {@code libomp.dylib} on macOS, {@code vcomp140.dll} on Windows.
 *
 * <p>OpenMP keeps the count per calling thread: each Java thread that runs oneDNN primitives is an OpenMP master
 * with its own count, which starts at the process default ({@code OMP_NUM_THREADS}, else one per core). oneDNN
 * fixes it into a primitive when the primitive is created, from the creating thread's count.
 *
 * <p>These are OpenMP's functions, not oneDNN's, so they are called through downcalls of their own, linked once,
 * found by name in the runtime loaded with libdnnl ({@link DnnlLibrary.LoadedLibrary#openMpRuntime()}; for an
 * override, the platform's runtime file name, which resolves to the copy libdnnl loaded). Calling either loads
 * oneDNN if it is not loaded yet.
 */
public final class OpenMp {

    private static volatile Handles handles;

    private OpenMp() {}

    /**
     * {@code omp_get_max_threads()}: how many threads an OpenMP parallel region started by the calling thread would
     * use, so how many a oneDNN primitive created on this thread now would use.
     *
     * @return the calling thread's OpenMP thread count, at least 1
     * @throws UnsupportedOperationException if the loaded oneDNN does not run on OpenMP or its runtime is not found
     */
    public static int maxThreads() {
        try {
            return (int) handles().maxThreads().invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("omp_get_max_threads() failed", t);
        }
    }

    /**
     * {@code omp_set_num_threads(n)}: the thread count of the calling thread's later parallel regions, so of the
     * oneDNN primitives it creates from now on. Other threads keep their own count.
     *
     * @param n the number of threads, at least 1
     * @throws IllegalArgumentException if {@code n < 1}
     * @throws UnsupportedOperationException if the loaded oneDNN does not run on OpenMP or its runtime is not found
     */
    public static void setNumThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("the OpenMP thread count must be at least 1, got " + n);
        }
        try {
            handles().setNumThreads().invokeExact(n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("omp_set_num_threads(" + n + ") failed", t);
        }
    }

    private static Handles handles() {
        Handles h = handles;
        if (h == null) {
            synchronized (OpenMp.class) {
                h = handles;
                if (h == null) {
                    h = link();
                    handles = h;
                }
            }
        }
        return h;
    }

    private static Handles link() {
        DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
        Platform platform = Platform.current();
        // The runtime loaded with libdnnl, by path (bundled) or file name (override). On Linux and macOS a
        // library's lookup also searches its dependencies, so libdnnl's own lookup answers first: it names the copy
        // libdnnl is bound to even if another copy of the runtime was loaded into the process before it. On
        // Windows libdnnl's lookup finds no OpenMP function and the runtime's answers.
        SymbolLookup runtime = NativeLoader.openMpRuntime(lib, platform);
        SymbolLookup bound = lib.lookup().or(runtime);
        Linker linker = Linker.nativeLinker();
        return new Handles(
                linker.downcallHandle(
                        symbol(lib, bound, "omp_get_max_threads"), FunctionDescriptor.of(ValueLayout.JAVA_INT)),
                linker.downcallHandle(
                        symbol(lib, bound, "omp_set_num_threads"), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT)));
    }

    private static MemorySegment symbol(DnnlLibrary.LoadedLibrary lib, SymbolLookup lookup, String name) {
        return lookup.find(name)
                .orElseThrow(() -> new UnsupportedOperationException("no OpenMP runtime exporting " + name
                        + " was found for " + lib + " (neither among its dependencies nor by the file name of "
                        + Platform.current().id() + "'s runtime)"));
    }

    /**
     * The linked downcalls.
     *
     * @param maxThreads    {@code int omp_get_max_threads(void)}
     * @param setNumThreads {@code void omp_set_num_threads(int)}
     */
    private record Handles(MethodHandle maxThreads, MethodHandle setNumThreads) {}
}
