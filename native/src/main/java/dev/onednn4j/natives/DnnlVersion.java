package dev.onednn4j.natives;

import java.util.Locale;

/**
 * What {@code dnnl_version()} of a loaded libdnnl reports.
 *
 * @param major      major version (3)
 * @param minor      minor version
 * @param patch      patch version
 * @param hash       the git hash oneDNN was built from
 * @param cpuRuntime the CPU threading runtime ({@code DNNL_RUNTIME_*}: 1 sequential, 2 OpenMP, 4 TBB, 8 threadpool)
 */
public record DnnlVersion(int major, int minor, int patch, String hash, int cpuRuntime) {

    /** {@code DNNL_RUNTIME_OMP}: the value of {@link #cpuRuntime()} for a build on OpenMP. */
    public static final int RUNTIME_OPENMP = 2;

    /**
     * Whether this version offers every symbol of an API generated from {@code major.minor} headers.
     *
     * @param requiredMajor the major version of the headers, which must match exactly
     * @param requiredMinor the minor version of the headers, which this version must reach
     * @return true for the same major version and a minor version at least {@code requiredMinor}
     */
    public boolean isCompatibleWith(int requiredMajor, int requiredMinor) {
        return major == requiredMajor && minor >= requiredMinor;
    }

    /**
     * {@code 3.13.0}.
     *
     * @return {@code major.minor.patch}
     */
    public String number() {
        return String.format(Locale.ROOT, "%d.%d.%d", major, minor, patch);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "oneDNN %s (%s, cpu runtime %s)", number(), hash, runtimeName(cpuRuntime));
    }

    private static String runtimeName(int runtime) {
        return switch (runtime) {
            case 1 -> "sequential";
            case RUNTIME_OPENMP -> "OpenMP";
            case 4 -> "TBB";
            case 8 -> "threadpool";
            default -> Integer.toString(runtime);
        };
    }
}
