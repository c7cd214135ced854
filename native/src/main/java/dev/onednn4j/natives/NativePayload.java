package dev.onednn4j.natives;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What the loader extracts and loads on one platform: libdnnl, and the runtime files loaded before it, in that order,
 * each with the jar it comes from. {@link #ALL} is the one table the loader follows; the SHA-256 of every file is
 * pinned in {@code runtime.properties} as {@code <platform>.<file>}.
 *
 * <p>The runtime files are loaded first, by absolute path: on Linux libdnnl would find libgomp beside itself through
 * its {@code $ORIGIN} run path anyway, but on macOS it names its OpenMP runtime {@code @rpath/libiomp5.dylib} (or
 * {@code libomp.dylib}) with no run path that reaches it, and Windows never searches the folder of {@code dnnl.dll}
 * for its imports; an image already loaded under the same name satisfies the dependency on all three.
 *
 * @param platform the JavaCPP classifier, e.g. {@code linux-x86_64}
 * @param library  libdnnl itself
 * @param runtimes what libdnnl needs, in the order they are loaded before it
 */
record NativePayload(String platform, NativeFile library, List<NativeFile> runtimes) {

    /** Every platform org.bytedeco:dnnl is published for. */
    static final List<NativePayload> ALL = List.of(
            new NativePayload(
                    "linux-x86_64",
                    NativeFile.library("libdnnl.so.3"),
                    List.of(NativeFile.openMp(Artifact.DNNL, "libgomp.so.1"))),
            new NativePayload(
                    "linux-arm64",
                    NativeFile.library("libdnnl.so.3"),
                    List.of(NativeFile.openMp(Artifact.DNNL, "libgomp.so.1"))),
            new NativePayload(
                    "macosx-x86_64",
                    NativeFile.library("libdnnl.3.dylib"),
                    List.of(NativeFile.openMp(Artifact.DNNL, "libiomp5.dylib"))),
            new NativePayload(
                    "macosx-arm64",
                    NativeFile.library("libdnnl.3.dylib"),
                    List.of(NativeFile.openMp(Artifact.DNNL, "libomp.dylib"))),
            new NativePayload(
                    "windows-x86_64",
                    NativeFile.library("dnnl.dll"),
                    // In dependency order: vcruntime140_1 imports vcruntime140, msvcp140 both (PlatformJarsTest checks
                    // it).
                    List.of(
                            NativeFile.runtime(Artifact.JAVACPP, "vcruntime140.dll"),
                            NativeFile.runtime(Artifact.JAVACPP, "vcruntime140_1.dll"),
                            NativeFile.runtime(Artifact.JAVACPP, "msvcp140.dll"),
                            NativeFile.openMp(Artifact.JAVACPP, "vcomp140.dll"))));

    NativePayload {
        runtimes = List.copyOf(runtimes);
        if (runtimes.stream().filter(NativeFile::openMp).count() != 1) {
            throw new IllegalArgumentException("exactly one OpenMP runtime per platform: " + platform);
        }
    }

    /** The payload of the platform with this classifier, if org.bytedeco:dnnl is published for it. */
    static Optional<NativePayload> of(String platform) {
        return ALL.stream().filter(p -> p.platform.equals(platform)).findFirst();
    }

    /** The classifiers of {@link #ALL}. */
    static List<String> platforms() {
        return ALL.stream().map(NativePayload::platform).toList();
    }

    /** The runtime files, then libdnnl: the order they are extracted and loaded in. */
    List<NativeFile> files() {
        List<NativeFile> all = new ArrayList<>(runtimes);
        all.add(library);
        return List.copyOf(all);
    }

    /** The OpenMP runtime libdnnl runs its threads on. */
    NativeFile openMpRuntime() {
        return runtimes.stream().filter(NativeFile::openMp).findFirst().orElseThrow();
    }

    /** The jars the files come from, the dnnl payload first. */
    Set<Artifact> artifacts() {
        Set<Artifact> artifacts = new LinkedHashSet<>();
        artifacts.add(library.artifact());
        runtimes.forEach(r -> artifacts.add(r.artifact()));
        return artifacts;
    }

    /** The path of a file inside its jar, e.g. {@code org/bytedeco/dnnl/linux-x86_64/libdnnl.so.3}. */
    String resource(NativeFile file) {
        return file.artifact().folder(platform) + file.name();
    }

    /** The Java module of an artifact's jar for this platform, e.g. {@code org.bytedeco.dnnl.linux.x86_64}. */
    String module(Artifact artifact) {
        return artifact.module() + "." + platform.replace('-', '.');
    }

    /**
     * A jar of the org.bytedeco group.
     *
     * <p>The payload jar {@code org.bytedeco:dnnl:<platform>} is an open module {@code org.bytedeco.dnnl.<platform>}
     * that requires {@code org.bytedeco.dnnl}, which requires {@code org.bytedeco.javacpp}; JavaCPP's own platform jar
     * is built the same way.
     */
    enum Artifact {
        /** {@code org.bytedeco:dnnl}: libdnnl and, except on Windows, its OpenMP runtime. */
        DNNL("dnnl"),
        /** {@code org.bytedeco:javacpp}: on Windows, the MSVC runtime and OpenMP DLLs. */
        JAVACPP("javacpp");

        private final String artifactId;

        Artifact(String artifactId) {
            this.artifactId = artifactId;
        }

        String groupId() {
            return "org.bytedeco";
        }

        String artifactId() {
            return artifactId;
        }

        /** The jar folder of a platform's files, e.g. {@code org/bytedeco/dnnl/linux-x86_64/}. */
        String folder(String platform) {
            return "org/bytedeco/" + artifactId + "/" + platform + "/";
        }

        /** The module of the jar without classifier, which every platform's module requires. */
        String module() {
            return "org.bytedeco." + artifactId;
        }
    }

    /**
     * One file of a payload.
     *
     * @param artifact the jar it is in
     * @param name     its file name, the same inside the jar and in the cache folder
     * @param openMp   whether it is the OpenMP runtime (whose thread count {@link OpenMp} sets)
     */
    record NativeFile(Artifact artifact, String name, boolean openMp) {
        static NativeFile library(String name) {
            return new NativeFile(Artifact.DNNL, name, false);
        }

        static NativeFile runtime(Artifact artifact, String name) {
            return new NativeFile(artifact, name, false);
        }

        static NativeFile openMp(Artifact artifact, String name) {
            return new NativeFile(artifact, name, true);
        }
    }
}
