package dev.onednn4j.natives;

import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

/**
 * The process-wide oneDNN library: found, verified and loaded once, on first use.
 *
 * <h2>Where libdnnl comes from</h2>
 * <ol>
 *   <li><b>Override.</b> The system property {@value #LIBRARY_PROPERTY} or, when it is unset, the
 *       environment variable {@value #LIBRARY_ENV} names a libdnnl to load instead ({@code libdnnl.so.3},
 *       {@code libdnnl.3.dylib}, {@code dnnl.dll}), e.g. one from an Intel oneAPI install. It must report
 *       oneDNN 3.x with x &ge; 13 (the headers the bindings were generated from). An override that cannot be
 *       loaded is an error; there is no silent fallback.</li>
 *   <li><b>Bundled.</b> Otherwise libdnnl and the runtime it needs are taken from the {@code org.bytedeco:dnnl}
 *       jar of the running platform (and, on Windows, {@code org.bytedeco:javacpp}'s) on the class or module
 *       path, for each platform org.bytedeco:dnnl is published for ({@link Platform#supported()}):
 *       {@code libdnnl.so.3} and {@code libgomp.so.1} on Linux x86-64 and arm64, {@code libdnnl.3.dylib} and
 *       {@code libiomp5.dylib} (x86-64) or {@code libomp.dylib} (arm64) on macOS, {@code dnnl.dll} and MSVC's
 *       {@code vcruntime140}, {@code vcruntime140_1}, {@code msvcp140} and {@code vcomp140} on Windows x64.
 *       They are extracted once into a per-user cache folder keyed by artifact version, platform and
 *       checksum: {@value #CACHE_PROPERTY} / {@value #CACHE_ENV} if set, else {@code $XDG_CACHE_HOME/onednn4j},
 *       else {@code ~/.cache/onednn4j}, else {@code java.io.tmpdir/onednn4j-<user>}. Each file is written under
 *       a temporary name, its SHA-256 checked against the value pinned with the artifact version, then renamed
 *       atomically, so JVMs starting at the same moment never see a half-written library. The runtime files
 *       are loaded first, by absolute path, then libdnnl.</li>
 * </ol>
 * The library is mapped for the life of the process ({@code Arena.global()}); it is never unloaded. What happened
 * is logged through {@code System.Logger} {@code dev.onednn4j.natives}: one INFO line on loading, a WARNING per
 * cache folder that cannot be used, DEBUG per file found already extracted.
 *
 * <p>On failure an {@link UnsatisfiedLinkError} names the platform, every path tried, the jar (with its Maven
 * coordinates, and on the module path the modules it holds) that is missing, and the override to use.
 * The same error is thrown again on every later call.
 */
public final class DnnlLibrary {

    /** System property naming a libdnnl to load instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "onednn4j.dnnl.library";
    /** Environment variable naming a libdnnl to load instead of the bundled one. */
    public static final String LIBRARY_ENV = "ONEDNN4J_DNNL_LIBRARY";
    /** System property naming the folder the bundled libraries are extracted into. */
    public static final String CACHE_PROPERTY = "onednn4j.cache.dir";
    /** Environment variable naming the folder the bundled libraries are extracted into. */
    public static final String CACHE_ENV = "ONEDNN4J_CACHE_DIR";

    private static LoadedLibrary loaded;
    /** Why the first attempt failed: every later call fails the same way, with a new error. */
    private static String failure;

    private DnnlLibrary() {}

    /**
     * Loads the library if this process has not yet, and returns what was loaded.
     *
     * @return the library loaded by the first call, the same on every call
     * @throws UnsatisfiedLinkError if it cannot be found, extracted, loaded or is of the wrong version
     */
    public static synchronized LoadedLibrary load() {
        if (loaded != null) {
            return loaded;
        }
        if (failure != null) {
            throw new UnsatisfiedLinkError(failure + " (this failed the first time it was tried in this process)");
        }
        try {
            loaded = NativeLoader.load(NativeLoader.Settings.fromEnvironment());
            return loaded;
        } catch (UnsatisfiedLinkError e) {
            failure = e.getMessage();
            throw e;
        }
    }

    /**
     * The symbols of the loaded libdnnl: what the generated bindings link against.
     *
     * @return the lookup of libdnnl (and, on Linux and macOS, of its dependencies), valid for the life of the
     *     process
     * @throws UnsatisfiedLinkError if the library cannot be loaded, as {@link #load()}
     */
    public static SymbolLookup lookup() {
        return load().lookup();
    }

    /**
     * What was loaded and from where.
     *
     * @param path          the libdnnl that was loaded
     * @param source        how it was found
     * @param version       what it reports
     * @param lookup        its symbols
     * @param openMpRuntime the OpenMP runtime loaded with it ({@code libgomp.so.1}, {@code libiomp5.dylib},
     *                      {@code libomp.dylib} or {@code vcomp140.dll} in the cache folder), or null for an override
     * @param cacheDir      the cache folder it was extracted into, or null for an override
     */
    public record LoadedLibrary(
            Path path, Source source, DnnlVersion version, SymbolLookup lookup, Path openMpRuntime, Path cacheDir) {
        @Override
        public String toString() {
            return version + " from " + path + " (" + source + ")";
        }
    }

    /** How the library was found. */
    public enum Source {
        /** Named by {@value #LIBRARY_PROPERTY} or {@value #LIBRARY_ENV}. */
        OVERRIDE,
        /** Extracted from the org.bytedeco:dnnl jar of the running platform on the class or module path. */
        BUNDLED
    }
}
