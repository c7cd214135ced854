package dev.onednn4j.natives;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The platform this JVM runs on, named as JavaCPP names its classifiers ({@code linux-x86_64}).
 *
 * @param os     normalised operating system ({@code linux}, {@code macosx}, {@code windows}, or the raw name in
 *               lower case, spaces as underscores)
 * @param arch   normalised architecture ({@code x86_64}, {@code arm64}, {@code x86}, or the raw name in lower case)
 * @param osName the raw {@code os.name}
 * @param osArch the raw {@code os.arch}
 */
public record Platform(String os, String arch, String osName, String osArch) {

    /**
     * The platform of the running JVM.
     *
     * @return the platform named by the system properties {@code os.name} and {@code os.arch}
     */
    public static Platform current() {
        return of(System.getProperty("os.name", "unknown"), System.getProperty("os.arch", "unknown"));
    }

    /**
     * The platform named by these values of {@code os.name} and {@code os.arch}.
     *
     * @param osName a value of {@code os.name}, e.g. {@code Linux}, {@code Mac OS X}, {@code Windows 11}
     * @param osArch a value of {@code os.arch}, e.g. {@code amd64}, {@code aarch64}
     * @return the platform, normalised as JavaCPP normalises it; unknown names are kept, in lower case
     */
    public static Platform of(String osName, String osArch) {
        String n = osName.toLowerCase(Locale.ROOT);
        String os = n.startsWith("linux")
                ? "linux"
                : n.startsWith("mac") || n.startsWith("darwin")
                        ? "macosx"
                        : n.startsWith("windows") ? "windows" : n.replace(' ', '_');
        String a = osArch.toLowerCase(Locale.ROOT);
        String arch = switch (a) {
            case "amd64", "x86_64", "x64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i486", "i586", "i686" -> "x86";
            default -> a;
        };
        return new Platform(os, arch, osName, osArch);
    }

    /**
     * The platforms whose oneDNN payload onednn4j knows how to load, as classifiers: what org.bytedeco:dnnl serves.
     *
     * @return the classifiers, e.g. {@code linux-x86_64}, {@code macosx-arm64}, {@code windows-x86_64}
     */
    public static List<String> supported() {
        return NativePayload.platforms();
    }

    /**
     * The classifier-style name, e.g. {@code linux-x86_64}.
     *
     * @return {@code os-arch}
     */
    public String id() {
        return os + "-" + arch;
    }

    /**
     * Whether onednn4j knows this platform's oneDNN payload (its jar must still be on the class or module path).
     *
     * @return true if {@link #id()} is one of {@link #supported()}
     */
    public boolean isBundled() {
        return payload().isPresent();
    }

    /** What is extracted and loaded here, if this platform is supported. */
    Optional<NativePayload> payload() {
        return NativePayload.of(id());
    }

    /**
     * The file name of libdnnl here ({@code libdnnl.so.3}, {@code libdnnl.3.dylib}, {@code dnnl.dll}), also on a
     * platform without a bundled payload.
     *
     * @return the file name, without a folder
     */
    public String libraryFileName() {
        return payload()
                .map(p -> p.library().name())
                .orElse(
                        switch (os) {
                            case "macosx" -> "libdnnl.3.dylib";
                            case "windows" -> "dnnl.dll";
                            default -> "libdnnl.so.3";
                        });
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (os.name=%s, os.arch=%s)", id(), osName, osArch);
    }
}
