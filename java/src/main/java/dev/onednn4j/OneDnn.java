package dev.onednn4j;

import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.natives.DnnlLibrary;
import java.nio.file.Path;

/** Facts about the oneDNN this process runs on. The first call loads the library. */
public final class OneDnn {
    private OneDnn() {}

    /** The loaded library's version, e.g. {@code 3.13.0}. */
    public static String version() {
        return DnnlLibrary.load().version().number();
    }

    /** The libdnnl.so.3 that was loaded. */
    public static Path libraryPath() {
        return DnnlLibrary.load().path();
    }

    /** The instruction set oneDNN's kernels use on this CPU, as oneDNN names it. */
    public static String cpuIsa() {
        return Dnnl.effectiveCpuIsa();
    }
}
