package dev.onednn4j.natives;

import java.util.Locale;

/**
 * The platform this JVM runs on, named as JavaCPP names its classifiers ({@code linux-x86_64}).
 *
 * @param os     normalised operating system ({@code linux}, {@code macosx}, {@code windows}, or the raw name)
 * @param arch   normalised architecture ({@code x86_64}, {@code arm64}, or the raw name)
 * @param osName the raw {@code os.name}
 * @param osArch the raw {@code os.arch}
 */
public record Platform(String os, String arch, String osName, String osArch) {

    /** The only platform whose oneDNN payload this build bundles and pins by checksum. */
    public static final String BUNDLED = "linux-x86_64";

    /** The platform of the running JVM. */
    public static Platform current() {
        return of(System.getProperty("os.name", "unknown"), System.getProperty("os.arch", "unknown"));
    }

    static Platform of(String osName, String osArch) {
        String n = osName.toLowerCase(Locale.ROOT);
        String os = n.startsWith("linux")
                ? "linux"
                : n.startsWith("mac") || n.startsWith("darwin")
                        ? "macosx"
                        : n.startsWith("windows") ? "windows" : n.replace(' ', '_');
        String a = osArch.toLowerCase(Locale.ROOT);
        String arch = switch (a) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            default -> a;
        };
        return new Platform(os, arch, osName, osArch);
    }

    /** The classifier-style name, e.g. {@code linux-x86_64}. */
    public String id() {
        return os + "-" + arch;
    }

    /** Whether the oneDNN payload on the classpath covers this platform. */
    public boolean isBundled() {
        return BUNDLED.equals(id());
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (os.name=%s, os.arch=%s)", id(), osName, osArch);
    }
}
