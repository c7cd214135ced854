package dev.onednn4j.natives;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/** Finds, extracts, verifies and loads libdnnl.so.3. {@link DnnlLibrary} holds the process-wide result. */
final class NativeLoader {

    static final String LIBDNNL = "libdnnl.so.3";
    /** libdnnl.so.3 finds it next to itself through its {@code $ORIGIN} run path. */
    static final String LIBGOMP = "libgomp.so.1";

    private NativeLoader() {}

    /**
     * Where to look, decided once from system properties and the environment.
     *
     * @param override  an explicit libdnnl.so.3, or null
     * @param overrideOrigin how the override was given (for messages)
     * @param cacheDirs candidate cache folders, in order of preference
     * @param platform  the running platform
     */
    record Settings(Path override, String overrideOrigin, List<Path> cacheDirs, Platform platform) {

        static Settings fromEnvironment() {
            return from(System.getProperties(), System.getenv(), Platform.current());
        }

        static Settings from(Properties props, Map<String, String> env, Platform platform) {
            Path override = null;
            String origin = null;
            String p = props.getProperty(DnnlLibrary.LIBRARY_PROPERTY);
            String e = env.get(DnnlLibrary.LIBRARY_ENV);
            if (p != null && !p.isBlank()) {
                override = Path.of(p);
                origin = "-D" + DnnlLibrary.LIBRARY_PROPERTY;
            } else if (e != null && !e.isBlank()) {
                override = Path.of(e);
                origin = DnnlLibrary.LIBRARY_ENV;
            }
            List<Path> dirs = new ArrayList<>();
            String cp = props.getProperty(DnnlLibrary.CACHE_PROPERTY);
            String ce = env.get(DnnlLibrary.CACHE_ENV);
            if (cp != null && !cp.isBlank()) {
                dirs.add(Path.of(cp));
            } else if (ce != null && !ce.isBlank()) {
                dirs.add(Path.of(ce));
            } else {
                String xdg = env.get("XDG_CACHE_HOME");
                if (xdg != null && !xdg.isBlank()) {
                    dirs.add(Path.of(xdg, "onednn4j"));
                }
                String home = props.getProperty("user.home");
                if (home != null && !home.isBlank() && !"?".equals(home)) {
                    dirs.add(Path.of(home, ".cache", "onednn4j"));
                }
                dirs.add(Path.of(
                        props.getProperty("java.io.tmpdir"), "onednn4j-" + props.getProperty("user.name", "user")));
            }
            return new Settings(override, origin, List.copyOf(dirs), platform);
        }
    }

    /** The pinned facts about the bundled payload, from runtime.properties. */
    record Payload(
            String artifact, String artifactVersion, int requiredMajor, int requiredMinor, Map<String, String> sha256) {

        static Payload fromResources() {
            Properties p = new Properties();
            try (InputStream in = NativeLoader.class.getResourceAsStream("runtime.properties")) {
                if (in == null) {
                    throw new IllegalStateException("runtime.properties missing from onednn4j-native");
                }
                p.load(in);
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            String id = Platform.BUNDLED;
            return new Payload(
                    p.getProperty("artifact"),
                    p.getProperty("artifact.version"),
                    Integer.parseInt(p.getProperty("dnnl.version.major")),
                    Integer.parseInt(p.getProperty("dnnl.version.minor")),
                    Map.of(LIBDNNL, p.getProperty(id + "." + LIBDNNL), LIBGOMP, p.getProperty(id + "." + LIBGOMP)));
        }

        String resource(Platform platform, String file) {
            return "org/bytedeco/dnnl/" + platform.id() + "/" + file;
        }
    }

    static DnnlLibrary.LoadedLibrary load(Settings settings) {
        Payload payload = Payload.fromResources();
        List<String> tried = new ArrayList<>();
        if (settings.override() != null) {
            Path lib = settings.override().toAbsolutePath();
            try {
                return open(lib, DnnlLibrary.Source.OVERRIDE, payload);
            } catch (LoadFailure f) {
                tried.add(lib + " (from " + settings.overrideOrigin() + "): " + f.getMessage());
                throw failure(settings, payload, tried, f.getCause());
            }
        }
        if (!settings.platform().isBundled()) {
            tried.add("no bundled oneDNN: onednn4j bundles it for " + Platform.BUNDLED + " only");
            throw failure(settings, payload, tried, null);
        }
        Throwable lastCause = null;
        for (Path root : settings.cacheDirs()) {
            Path dir = root.resolve(String.format(
                    Locale.ROOT,
                    "dnnl-%s-%s-%s",
                    payload.artifactVersion(),
                    settings.platform().id(),
                    payload.sha256().get(LIBDNNL).substring(0, 12)));
            try {
                // libgomp first: libdnnl needs it beside itself the moment it is loaded.
                extract(payload, settings.platform(), dir, LIBGOMP);
                Path lib = extract(payload, settings.platform(), dir, LIBDNNL);
                return open(lib, DnnlLibrary.Source.BUNDLED, payload);
            } catch (LoadFailure f) {
                tried.add(dir.resolve(LIBDNNL) + ": " + f.getMessage());
                lastCause = f.getCause();
            }
        }
        throw failure(settings, payload, tried, lastCause);
    }

    private static UnsatisfiedLinkError failure(Settings s, Payload payload, List<String> tried, Throwable cause) {
        StringBuilder m = new StringBuilder()
                .append("Could not load oneDNN (")
                .append(LIBDNNL)
                .append(") on platform ")
                .append(s.platform())
                .append(". Tried:");
        for (String t : tried) {
            m.append("\n  - ").append(t);
        }
        m.append("\nThe bundled library comes from ")
                .append(payload.artifact())
                .append(':')
                .append(Platform.BUNDLED)
                .append(" on the classpath. To load another oneDNN ")
                .append(payload.requiredMajor())
                .append('.')
                .append(payload.requiredMinor())
                .append("+ build (e.g. from Intel oneAPI), set -D")
                .append(DnnlLibrary.LIBRARY_PROPERTY)
                .append("=/path/to/")
                .append(LIBDNNL)
                .append(" or the environment variable ")
                .append(DnnlLibrary.LIBRARY_ENV)
                .append("; to extract elsewhere, set -D")
                .append(DnnlLibrary.CACHE_PROPERTY)
                .append(" or ")
                .append(DnnlLibrary.CACHE_ENV)
                .append('.');
        UnsatisfiedLinkError e = new UnsatisfiedLinkError(m.toString());
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /** A failed attempt; its message says what went wrong with one path. */
    static final class LoadFailure extends Exception {
        private static final long serialVersionUID = 1L;

        LoadFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Extracts one file into {@code dir} unless a complete copy is there. A file under its final name
     * was verified before it was renamed there, so a present file of the right size is trusted.
     */
    static Path extract(Payload payload, Platform platform, Path dir, String file) throws LoadFailure {
        String resource = payload.resource(platform, file);
        String expected = payload.sha256().get(file);
        Path target = dir.resolve(file);
        long size = resourceSize(resource);
        try {
            if (Files.isRegularFile(target) && Files.size(target) == size) {
                return target;
            }
            Files.createDirectories(dir);
        } catch (IOException ex) {
            throw new LoadFailure("cannot create the cache folder: " + ex, ex);
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, file + ".", ".partial");
            String actual;
            try (InputStream raw = NativeLoader.class.getClassLoader().getResourceAsStream(resource)) {
                if (raw == null) {
                    throw new LoadFailure(
                            "classpath resource " + resource + " not found (is " + payload.artifact() + ':'
                                    + platform.id() + " on the classpath?)",
                            null);
                }
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                try (InputStream in = new DigestInputStream(raw, sha);
                        OutputStream out = Files.newOutputStream(tmp)) {
                    in.transferTo(out);
                }
                actual = HexFormat.of().formatHex(sha.digest());
            }
            if (!actual.equals(expected)) {
                throw new LoadFailure(
                        "SHA-256 of classpath resource " + resource + " is " + actual + ", expected " + expected
                                + " for " + payload.artifact(),
                        null);
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException ex) {
                throw new LoadFailure("the file system of " + dir + " cannot rename atomically", ex);
            }
            tmp = null;
            return target;
        } catch (IOException ex) {
            throw new LoadFailure("cannot extract " + resource + ": " + ex, ex);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("every JDK has SHA-256", ex);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: a stray .partial file is harmless and never loaded
                }
            }
        }
    }

    private static long resourceSize(String resource) throws LoadFailure {
        var url = NativeLoader.class.getClassLoader().getResource(resource);
        if (url == null) {
            throw new LoadFailure(
                    "classpath resource " + resource + " not found (is the org.bytedeco:dnnl jar for "
                            + "this platform on the classpath?)",
                    null);
        }
        try {
            long n = url.openConnection().getContentLengthLong();
            if (n < 0) {
                throw new LoadFailure("size of classpath resource " + resource + " unknown", null);
            }
            return n;
        } catch (IOException ex) {
            throw new LoadFailure("cannot read classpath resource " + resource + ": " + ex, ex);
        }
    }

    /** Loads a libdnnl and checks its version through {@code dnnl_version()} before anything else uses it. */
    private static DnnlLibrary.LoadedLibrary open(Path lib, DnnlLibrary.Source source, Payload payload)
            throws LoadFailure {
        if (!Files.isRegularFile(lib)) {
            throw new LoadFailure("file does not exist", null);
        }
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(lib, Arena.global());
        } catch (IllegalArgumentException ex) {
            throw new LoadFailure("dlopen failed: " + ex.getMessage(), ex);
        }
        DnnlVersion version = version(lookup)
                .orElseThrow(() -> new LoadFailure("does not export dnnl_version(): not a oneDNN library", null));
        if (!version.isCompatibleWith(payload.requiredMajor(), payload.requiredMinor())) {
            throw new LoadFailure(
                    String.format(
                            Locale.ROOT,
                            "reports oneDNN %s; the bindings need %d.x with x >= %d",
                            version.number(),
                            payload.requiredMajor(),
                            payload.requiredMinor()),
                    null);
        }
        return new DnnlLibrary.LoadedLibrary(lib, source, version, lookup);
    }

    /**
     * Reads {@code const dnnl_version_t *dnnl_version(void)}. The one native call made before the
     * generated bindings exist: its layout (three ints, a pointer at 16, two unsigned ints at 24 and 28)
     * has been stable since oneDNN 1.0, and it is what decides whether the bindings may be used at all.
     */
    static java.util.Optional<DnnlVersion> version(SymbolLookup lookup) {
        var symbol = lookup.find("dnnl_version");
        if (symbol.isEmpty()) {
            return java.util.Optional.empty();
        }
        MethodHandle h = Linker.nativeLinker().downcallHandle(symbol.get(), FunctionDescriptor.of(ValueLayout.ADDRESS));
        MemorySegment v;
        try {
            v = ((MemorySegment) h.invokeExact()).reinterpret(32);
        } catch (Throwable t) {
            throw new IllegalStateException("dnnl_version() failed", t);
        }
        Objects.requireNonNull(v);
        MemorySegment hash = v.get(ValueLayout.ADDRESS, 16);
        String hashText =
                hash.equals(MemorySegment.NULL) ? "" : hash.reinterpret(64).getString(0);
        return java.util.Optional.of(new DnnlVersion(
                v.get(ValueLayout.JAVA_INT, 0),
                v.get(ValueLayout.JAVA_INT, 4),
                v.get(ValueLayout.JAVA_INT, 8),
                hashText,
                v.get(ValueLayout.JAVA_INT, 24)));
    }
}
