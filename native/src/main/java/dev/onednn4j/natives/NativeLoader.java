package dev.onednn4j.natives;

import dev.onednn4j.natives.NativePayload.Artifact;
import dev.onednn4j.natives.NativePayload.NativeFile;
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
import java.net.URL;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * Finds, extracts, verifies and loads libdnnl and the runtime files it needs, as {@link NativePayload} lists them for
 * the running platform. {@link DnnlLibrary} holds the process-wide result.
 */
final class NativeLoader {

    /** The name of every log line of the loader, for {@code System.getLogger}. */
    static final String LOGGER_NAME = "dev.onednn4j.natives";

    private static final System.Logger LOG = System.getLogger(LOGGER_NAME);

    private NativeLoader() {}

    /**
     * Where to look, decided once from system properties and the environment.
     *
     * @param override  an explicit libdnnl, or null
     * @param overrideOrigin how the override was given (for messages)
     * @param cacheDirs candidate cache folders, in order of preference
     * @param platform  the running platform
     * @param openMpSpinCount the {@code GOMP_SPINCOUNT} to set before libgomp loads ({@link OpenMpWait}), or empty
     */
    record Settings(
            Path override,
            String overrideOrigin,
            List<Path> cacheDirs,
            Platform platform,
            Optional<String> openMpSpinCount) {

        /** Settings that leave OpenMP's environment alone. */
        Settings(Path override, String overrideOrigin, List<Path> cacheDirs, Platform platform) {
            this(override, overrideOrigin, cacheDirs, platform, Optional.empty());
        }

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
            Optional<String> spin;
            try {
                spin = OpenMpWait.spinCount(props, env);
            } catch (IllegalArgumentException bad) { // a tuning option mistyped: say so, load anyway
                LOG.log(System.Logger.Level.WARNING, bad.getMessage() + "; using " + OpenMpWait.DEFAULT);
                spin = Optional.of(Long.toString(OpenMpWait.DEFAULT));
            }
            return new Settings(override, origin, List.copyOf(dirs), platform, spin);
        }
    }

    /**
     * The pinned facts about the bundled payloads, from runtime.properties.
     *
     * @param artifact        {@code org.bytedeco:dnnl:<version>}
     * @param artifactVersion the version of org.bytedeco:dnnl
     * @param javacppVersion  the version of org.bytedeco:javacpp that goes with it
     * @param requiredMajor   the oneDNN major version the bindings need
     * @param requiredMinor   the least oneDNN minor version the bindings need
     * @param sha256          SHA-256 of every file of every payload, keyed {@code <platform>.<file>}
     */
    record Payload(
            String artifact,
            String artifactVersion,
            String javacppVersion,
            int requiredMajor,
            int requiredMinor,
            Map<String, String> sha256) {

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
            Map<String, String> sha = new LinkedHashMap<>();
            for (NativePayload np : NativePayload.ALL) {
                for (NativeFile f : np.files()) {
                    String key = np.platform() + "." + f.name();
                    String value = p.getProperty(key);
                    if (value == null || !value.matches("[0-9a-f]{64}")) {
                        throw new IllegalStateException("runtime.properties pins no SHA-256 for " + key);
                    }
                    sha.put(key, value);
                }
            }
            return new Payload(
                    p.getProperty("artifact"),
                    p.getProperty("artifact.version"),
                    p.getProperty("javacpp.version"),
                    Integer.parseInt(p.getProperty("dnnl.version.major")),
                    Integer.parseInt(p.getProperty("dnnl.version.minor")),
                    Map.copyOf(sha));
        }

        /** The pinned SHA-256 of one file of a platform's payload. */
        String sha256(NativePayload payload, NativeFile file) {
            return Objects.requireNonNull(sha256.get(payload.platform() + "." + file.name()), file.name());
        }

        String version(Artifact a) {
            return switch (a) {
                case DNNL -> artifactVersion;
                case JAVACPP -> javacppVersion;
            };
        }

        /** Maven coordinates, e.g. {@code org.bytedeco:dnnl:3.13-1.5.14:linux-x86_64}; no classifier for null. */
        String coordinates(Artifact a, String classifier) {
            return a.groupId() + ":" + a.artifactId() + ":" + version(a) + (classifier == null ? "" : ":" + classifier);
        }
    }

    static DnnlLibrary.LoadedLibrary load(Settings settings) {
        return load(settings, LOG);
    }

    static DnnlLibrary.LoadedLibrary load(Settings settings, System.Logger log) {
        Payload payload = Payload.fromResources();
        setOpenMpWait(settings, log);
        List<String> tried = new ArrayList<>();
        if (settings.override() != null) {
            Path lib = settings.override().toAbsolutePath();
            try {
                DnnlLibrary.LoadedLibrary loaded = open(lib, DnnlLibrary.Source.OVERRIDE, payload, null, null);
                log.log(
                        System.Logger.Level.INFO,
                        () -> "loaded " + loaded.version() + " from " + lib + " (override from "
                                + settings.overrideOrigin() + ")");
                return loaded;
            } catch (LoadFailure f) {
                tried.add(lib + " (from " + settings.overrideOrigin() + "): " + f.getMessage());
                throw failure(settings, payload, tried, null, f.getCause());
            }
        }
        Optional<NativePayload> known = settings.platform().payload();
        if (known.isEmpty()) {
            tried.add("no bundled oneDNN for " + settings.platform().id() + ": " + payload.artifact()
                    + " is published for " + String.join(", ", NativePayload.platforms()) + " only");
            throw failure(settings, payload, tried, null, null);
        }
        NativePayload np = known.get();
        Map<NativeFile, URL> resources = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        boolean onModulePath = NativeLoader.class.getModule().isNamed();
        for (NativeFile f : np.files()) {
            URL url = NativeLoader.class.getClassLoader().getResource(np.resource(f));
            if (url == null && onModulePath) {
                url = ModulePathPayload.find(np, np.resource(f));
            }
            if (url == null) {
                missing.add(np.resource(f));
            } else {
                resources.put(f, url);
            }
        }
        if (!missing.isEmpty()) {
            tried.add("resources " + String.join(", ", missing) + ": not found");
            throw failure(settings, payload, tried, notFoundHint(np, payload, onModulePath), null);
        }
        Throwable lastCause = null;
        List<Path> dirs = settings.cacheDirs();
        for (int i = 0; i < dirs.size(); i++) {
            Path dir = dirs.get(i).resolve(cacheFolderName(payload, np));
            try {
                List<Extracted> extracted = new ArrayList<>();
                for (NativeFile f : np.files()) {
                    Extracted e = extract(payload, np, f, resources.get(f), dir);
                    if (!e.written()) {
                        log.log(
                                System.Logger.Level.DEBUG,
                                () -> "found " + e.path() + " already extracted (" + e.size() + " bytes)");
                    }
                    extracted.add(e);
                }
                Path openMp = null;
                for (NativeFile runtime : np.runtimes()) {
                    Path path = dir.resolve(runtime.name());
                    dlopen(path);
                    if (runtime.openMp()) {
                        openMp = path;
                    }
                }
                DnnlLibrary.LoadedLibrary loaded =
                        open(dir.resolve(np.library().name()), DnnlLibrary.Source.BUNDLED, payload, openMp, dir);
                log.log(System.Logger.Level.INFO, () -> loadedMessage(loaded, payload, np, extracted));
                return loaded;
            } catch (LoadFailure f) {
                tried.add(dir.resolve(np.library().name()) + ": " + f.getMessage());
                lastCause = f.getCause();
                String next = i + 1 < dirs.size() ? "trying " + dirs.get(i + 1) : "no other folder to try";
                log.log(
                        System.Logger.Level.WARNING,
                        () -> "cannot use the cache folder " + dir + ": " + f.getMessage() + "; " + next);
            }
        }
        throw failure(settings, payload, tried, null, lastCause);
    }

    /**
     * The cache folder of one payload, under one cache root: distinct per artifact version, platform and libdnnl
     * checksum, e.g. {@code dnnl-3.13-1.5.14-linux-x86_64-3610657c3538}.
     */
    static String cacheFolderName(Payload payload, NativePayload np) {
        return String.format(
                Locale.ROOT,
                "dnnl-%s-%s-%s",
                payload.artifactVersion(),
                np.platform(),
                payload.sha256(np, np.library()).substring(0, 12));
    }

    private static String loadedMessage(
            DnnlLibrary.LoadedLibrary lib, Payload payload, NativePayload np, List<Extracted> extracted) {
        StringBuilder m = new StringBuilder()
                .append("loaded ")
                .append(lib.version())
                .append(" from ")
                .append(lib.path())
                .append(" (bundled, ")
                .append(payload.coordinates(Artifact.DNNL, np.platform()))
                .append("; OpenMP runtime ")
                .append(np.openMpRuntime().name())
                .append("); ");
        List<Extracted> written = extracted.stream().filter(Extracted::written).toList();
        if (written.isEmpty()) {
            m.append("already extracted in ").append(lib.cacheDir());
        } else {
            long total = written.stream().mapToLong(Extracted::size).sum();
            m.append("extracted ")
                    .append(megabytes(total))
                    .append(" into ")
                    .append(lib.cacheDir())
                    .append(": ")
                    .append(written.stream()
                            .map(e -> e.path().getFileName() + " (" + megabytes(e.size()) + ")")
                            .collect(Collectors.joining(", ")));
            if (written.size() < extracted.size()) {
                m.append("; ").append(extracted.size() - written.size()).append(" file(s) already there");
            }
        }
        return m.toString();
    }

    private static String megabytes(long bytes) {
        return String.format(Locale.ROOT, bytes >= 10_000_000 ? "%.0f MB" : "%.1f MB", bytes / 1e6);
    }

    /**
     * What to do when a payload file is not on the class or module path: which jars to add, with their Maven
     * coordinates (on the module path the loader reads the payload's jar there itself, resolved or not; {@code
     * --add-modules} also works).
     */
    static String notFoundHint(NativePayload np, Payload payload, boolean onModulePath) {
        List<String> jars = np.artifacts().stream()
                .map(a -> payload.coordinates(a, np.platform()))
                .toList();
        if (onModulePath) {
            // Every payload module requires org.bytedeco.dnnl (or org.bytedeco.javacpp), which requires
            // org.bytedeco.javacpp.
            List<String> bases =
                    List.of(payload.coordinates(Artifact.DNNL, null), payload.coordinates(Artifact.JAVACPP, null));
            List<String> modules = np.artifacts().stream().map(np::module).toList();
            return "onednn4j runs on the module path (module dev.onednn4j.natives) and found no payload module there"
                    + " (" + String.join(", ", modules) + "): put " + String.join(", ", jars)
                    + " and what it requires (" + String.join(", ", bases) + ") on the module path (or resolve it"
                    + " with --add-modules " + String.join(",", modules) + ").";
        }
        return "Add " + String.join(" and ", jars) + " to the class path (with Maven, onednn4j-native brings the"
                + " payload of the OS Maven runs on; -Ddnnl.classifier=" + np.platform() + " chooses this one).";
    }

    private static UnsatisfiedLinkError failure(
            Settings s, Payload payload, List<String> tried, String hint, Throwable cause) {
        String file = s.platform().libraryFileName();
        StringBuilder m = new StringBuilder()
                .append("Could not load oneDNN (")
                .append(file)
                .append(") on platform ")
                .append(s.platform())
                .append(". Tried:");
        for (String t : tried) {
            m.append("\n  - ").append(t);
        }
        if (hint != null) {
            m.append('\n').append(hint);
        }
        m.append("\nThe bundled library comes from ")
                .append(s.platform()
                        .payload()
                        .map(np -> payload.coordinates(Artifact.DNNL, np.platform()))
                        .orElse(payload.artifact() + ":<platform> (" + String.join(", ", NativePayload.platforms())
                                + ")"))
                .append(" on the class or module path. To load another oneDNN ")
                .append(payload.requiredMajor())
                .append('.')
                .append(payload.requiredMinor())
                .append("+ build (e.g. from Intel oneAPI), set -D")
                .append(DnnlLibrary.LIBRARY_PROPERTY)
                .append("=/path/to/")
                .append(file)
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
     * One file in the cache folder.
     *
     * @param path    where it is
     * @param size    its size in bytes
     * @param written whether this call wrote it (rather than finding it there)
     */
    record Extracted(Path path, long size, boolean written) {}

    /**
     * Extracts one file into {@code dir} unless a complete copy is there. A file under its final name was verified
     * before it was renamed there, so a present file of the right size is trusted.
     */
    static Extracted extract(Payload payload, NativePayload np, NativeFile file, URL url, Path dir) throws LoadFailure {
        String resource = np.resource(file);
        String expected = payload.sha256(np, file);
        Path target = dir.resolve(file.name());
        long size = resourceSize(resource, url);
        try {
            if (Files.isRegularFile(target) && Files.size(target) == size) {
                return new Extracted(target, size, false);
            }
            Files.createDirectories(dir);
        } catch (IOException ex) {
            throw new LoadFailure("cannot create the cache folder: " + ex, ex);
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, file.name() + ".", ".partial");
            String actual;
            try (InputStream raw = url.openStream()) {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                try (InputStream in = new DigestInputStream(raw, sha);
                        OutputStream out = Files.newOutputStream(tmp)) {
                    in.transferTo(out);
                }
                actual = HexFormat.of().formatHex(sha.digest());
            }
            if (!actual.equals(expected)) {
                throw new LoadFailure(
                        "SHA-256 of resource " + resource + " is " + actual + ", expected " + expected + " for "
                                + payload.coordinates(file.artifact(), np.platform()),
                        null);
            }
            if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException ex) {
                throw new LoadFailure("the file system of " + dir + " cannot rename atomically", ex);
            }
            tmp = null;
            return new Extracted(target, size, true);
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

    private static long resourceSize(String resource, URL url) throws LoadFailure {
        try {
            long n = url.openConnection().getContentLengthLong();
            if (n < 0) {
                throw new LoadFailure("size of resource " + resource + " unknown", null);
            }
            return n;
        } catch (IOException ex) {
            throw new LoadFailure("cannot read resource " + resource + ": " + ex, ex);
        }
    }

    /**
     * Before any libgomp loads (the bundled one, or an override's): the library's spin count, unless the environment
     * or {@code -Donednn4j.openmp.spinCount=default} says otherwise ({@link OpenMpWait}). Linux only: elsewhere
     * oneDNN's runtime is not libgomp.
     */
    private static void setOpenMpWait(Settings settings, System.Logger log) {
        if (!settings.platform().os().equals("linux")
                || settings.openMpSpinCount().isEmpty()) {
            return;
        }
        String value = settings.openMpSpinCount().get();
        if (OpenMpWait.setenv("GOMP_SPINCOUNT", value)) {
            log.log(
                    System.Logger.Level.DEBUG,
                    () -> "GOMP_SPINCOUNT=" + value + " for libgomp (-D" + OpenMpWait.PROPERTY
                            + "=default keeps libgomp's own)");
        } else {
            log.log(
                    System.Logger.Level.WARNING,
                    () -> "could not set GOMP_SPINCOUNT=" + value + ": OpenMP keeps its own wait policy");
        }
    }

    /** Loads a runtime file by absolute path, for the process's life, so that libdnnl's import of it finds it. */
    private static void dlopen(Path path) throws LoadFailure {
        try {
            SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException ex) {
            throw new LoadFailure("cannot load " + path.getFileName() + ": " + ex.getMessage(), ex);
        }
    }

    /** Loads a libdnnl and checks its version through {@code dnnl_version()} before anything else uses it. */
    private static DnnlLibrary.LoadedLibrary open(
            Path lib, DnnlLibrary.Source source, Payload payload, Path openMpRuntime, Path cacheDir)
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
        return new DnnlLibrary.LoadedLibrary(lib, source, version, lookup, openMpRuntime, cacheDir);
    }

    /**
     * The symbols of the OpenMP runtime the loaded libdnnl runs on: the extracted file for the bundled library; for
     * an override, the platform's runtime file name, which the dynamic loader resolves to the copy already loaded as
     * libdnnl's dependency (and, when no file of that name can be loaded, a lookup that finds nothing: the override
     * runs on another OpenMP runtime, which only libdnnl's own lookup can find).
     *
     * @throws UnsupportedOperationException if libdnnl does not use OpenMP, or the extracted runtime cannot be loaded
     */
    static SymbolLookup openMpRuntime(DnnlLibrary.LoadedLibrary lib, Platform platform) {
        if (lib.version().cpuRuntime() != DnnlVersion.RUNTIME_OPENMP) {
            throw new UnsupportedOperationException("the loaded oneDNN does not run on OpenMP: " + lib);
        }
        if (lib.openMpRuntime() != null) {
            try {
                return SymbolLookup.libraryLookup(lib.openMpRuntime(), Arena.global());
            } catch (IllegalArgumentException ex) {
                throw new UnsupportedOperationException("cannot load the OpenMP runtime of " + lib + ": " + ex, ex);
            }
        }
        Optional<String> name = platform.payload().map(p -> p.openMpRuntime().name());
        if (name.isEmpty()) {
            return symbol -> Optional.empty();
        }
        try {
            return SymbolLookup.libraryLookup(name.get(), Arena.global());
        } catch (IllegalArgumentException ex) {
            return symbol -> Optional.empty();
        }
    }

    /**
     * Reads {@code const dnnl_version_t *dnnl_version(void)}. The one native call made before the generated bindings
     * exist: its layout (three ints, a pointer at 16, two unsigned ints at 24 and 28) has been stable since oneDNN
     * 1.0, and it is what decides whether the bindings may be used at all.
     */
    static Optional<DnnlVersion> version(SymbolLookup lookup) {
        var symbol = lookup.find("dnnl_version");
        if (symbol.isEmpty()) {
            return Optional.empty();
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
        return Optional.of(new DnnlVersion(
                v.get(ValueLayout.JAVA_INT, 0),
                v.get(ValueLayout.JAVA_INT, 4),
                v.get(ValueLayout.JAVA_INT, 8),
                hashText,
                v.get(ValueLayout.JAVA_INT, 24)));
    }
}
