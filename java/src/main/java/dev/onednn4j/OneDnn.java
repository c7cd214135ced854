package dev.onednn4j;

import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.internal.exec.PlanCache;
import dev.onednn4j.natives.DnnlLibrary;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The oneDNN this process runs on, and its process-wide settings. The first call loads the library.
 *
 * <pre>{@code
 * OneDnn.setNumThreads(4);            // every layer, on every calling thread, from now on
 * System.out.println(OneDnn.info());  // version, library, ISA, threads, cache folder
 * }</pre>
 *
 * <p>oneDNN itself explains what it does when the environment variable {@code ONEDNN_VERBOSE} is set before
 * the JVM starts: {@code ONEDNN_VERBOSE=profile} prints each primitive it creates and runs, with its
 * implementation and time; {@code ONEDNN_VERBOSE=check} prints why it refused a descriptor. The library's own
 * log (System.Logger {@code dev.onednn4j} and {@code dev.onednn4j.natives}) says at INFO where the native
 * library came from and at DEBUG each plan it builds, with the implementation and layouts chosen.
 */
public final class OneDnn {
    private OneDnn() {}

    /**
     * The loaded library's version, e.g. {@code 3.13.0}.
     *
     * @return {@code major.minor.patch}, as {@code dnnl_version()} reports it
     * @throws UnsatisfiedLinkError if oneDNN cannot be loaded
     */
    public static String version() {
        return DnnlLibrary.load().version().number();
    }

    /**
     * The oneDNN library that was loaded.
     *
     * @return the path of libdnnl: in the native cache folder when bundled, else the override's
     * @throws UnsatisfiedLinkError if oneDNN cannot be loaded
     */
    public static Path libraryPath() {
        return DnnlLibrary.load().path();
    }

    /**
     * The instruction set oneDNN's kernels use on this CPU, as oneDNN names it.
     *
     * @return oneDNN's name for it, e.g. {@code cpu_isa_avx2} or {@code cpu_isa_avx512_core_bf16}; {@code unknown} if it gives none
     * @throws UnsatisfiedLinkError if oneDNN cannot be loaded
     */
    public static String cpuIsa() {
        return Dnnl.effectiveCpuIsa();
    }

    /**
     * Sets how many OpenMP threads each oneDNN call uses, on every calling thread from now on; 0 restores OpenMP's
     * default ({@code OMP_NUM_THREADS}, else one per core). Layers build new plans for the new count on their next
     * call (oneDNN fixes the count into a primitive when it creates it). Each calling thread runs its own team of
     * that many threads: a service calling from P threads at once wants {@code P * n <= cores}.
     *
     * @param threads OpenMP threads per oneDNN call, or 0 for OpenMP's default
     * @throws IllegalArgumentException if {@code threads} is negative
     */
    public static void setNumThreads(int threads) {
        Threads.set(threads);
    }

    /**
     * The count set by {@link #setNumThreads}, or 0 for OpenMP's default.
     *
     * @return the setting, not the effective count: 0 unless set ({@link Facts#threads()} is what a call uses)
     */
    public static int numThreads() {
        return Threads.setting();
    }

    /**
     * What is loaded and how it is set: a summary for logs and support requests.
     *
     * @param version           oneDNN's version, e.g. {@code 3.13.0}
     * @param library           the libdnnl that was loaded
     * @param source            how it was found: {@code bundled} (extracted from the org.bytedeco:dnnl jar) or
     *                          {@code override} (named by a system property or environment variable)
     * @param cpuIsa            the instruction set oneDNN's kernels use, as oneDNN names it
     * @param threadSetting     the count set by {@link OneDnn#setNumThreads}, or 0 for OpenMP's default
     * @param threads           the OpenMP threads a oneDNN call on the calling thread uses
     * @param cacheFolder       the folder the bundled libraries were extracted into, or null for an override
     * @param planCacheMaxPlans the oneDNN plans each layer keeps at most
     * @param planCacheMaxBytes the native bytes of plans each layer keeps at most
     */
    public record Facts(
            String version,
            Path library,
            String source,
            String cpuIsa,
            int threadSetting,
            int threads,
            Path cacheFolder,
            int planCacheMaxPlans,
            long planCacheMaxBytes) {

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "oneDNN %s (%s) from %s%n  CPU ISA: %s%n  threads: %d per call (%s)%n  native cache folder: %s%n"
                            + "  plan cache: %d plans, %d MiB per layer",
                    version,
                    source,
                    library,
                    cpuIsa,
                    threads,
                    threadSetting == 0 ? "OpenMP's default" : "set by OneDnn.setNumThreads",
                    cacheFolder == null ? "none (an override library)" : cacheFolder,
                    planCacheMaxPlans,
                    planCacheMaxBytes >> 20);
        }
    }

    /**
     * The oneDNN version and library, the ISA, the threads, the cache folder and the plan cache's limits.
     *
     * @return a snapshot, taken now on the calling thread; its {@code toString()} is a readable summary
     * @throws UnsatisfiedLinkError if oneDNN cannot be loaded
     */
    public static Facts info() {
        DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
        return new Facts(
                lib.version().number(),
                lib.path(),
                lib.source().toString().toLowerCase(Locale.ROOT),
                cpuIsa(),
                Threads.setting(),
                Threads.effective(),
                lib.cacheDir(),
                PlanCache.DEFAULT_MAX_PLANS,
                PlanCache.DEFAULT_MAX_BYTES);
    }
}
