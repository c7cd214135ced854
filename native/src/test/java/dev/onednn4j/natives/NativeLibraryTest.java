package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.text.MessageFormat;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ResourceBundle;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibraryTest {

    @Test
    void loadsTheBundledOneDnn313() {
        DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
        assertEquals(3, lib.version().major(), lib::toString);
        assertEquals(13, lib.version().minor(), lib::toString);
        assertEquals(2, lib.version().cpuRuntime(), "the bundled build uses OpenMP: " + lib);
        assertEquals(DnnlLibrary.Source.BUNDLED, lib.source());
        assertTrue(lib.lookup()
                .find("dnnl_convolution_forward_primitive_desc_create")
                .isPresent());
        NativePayload np = Platform.current().payload().orElseThrow();
        assertEquals(np.library().name(), lib.path().getFileName().toString());
        assertEquals(lib.path().getParent(), lib.cacheDir());
        assertEquals(lib.cacheDir().resolve(np.openMpRuntime().name()), lib.openMpRuntime());
        assertTrue(Files.isRegularFile(lib.openMpRuntime()), lib.openMpRuntime()::toString);
        assertEquals(lib, DnnlLibrary.load(), "loaded once per process");
    }

    @Test
    void pinnedChecksumsAreThoseOfTheJarOnTheClasspath() throws Exception {
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        NativePayload np = Platform.current().payload().orElseThrow();
        for (NativePayload.NativeFile file : np.files()) {
            String resource = np.resource(file);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = getClass().getClassLoader().getResourceAsStream(resource)) {
                assertTrue(in != null, resource + " on the classpath");
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                }
            }
            assertEquals(payload.sha256(np, file), HexFormat.of().formatHex(sha.digest()), resource);
        }
    }

    @Test
    void overrideNamingAMissingFileFailsNamingThatPath(@TempDir Path tmp) {
        Path missing = tmp.resolve("nowhere/libdnnl.so.3");
        var settings = settings(Map.of(DnnlLibrary.LIBRARY_PROPERTY, missing.toString()), Map.of(), tmp);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings));
        assertTrue(
                e.getMessage().contains(missing + " (from -Donednn4j.dnnl.library): file does not exist"),
                e.getMessage());
        assertTrue(e.getMessage().contains("linux-x86_64"), e.getMessage());
    }

    @Test
    void environmentOverrideIsUsedWhenThePropertyIsUnset(@TempDir Path tmp) {
        Path missing = tmp.resolve("env/libdnnl.so.3");
        var settings = settings(Map.of(), Map.of(DnnlLibrary.LIBRARY_ENV, missing.toString()), tmp);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings));
        assertTrue(e.getMessage().contains(missing + " (from ONEDNN4J_DNNL_LIBRARY)"), e.getMessage());
    }

    @Test
    void overrideThatIsNotOneDnnIsRefused(@TempDir Path tmp) {
        Path openMp = DnnlLibrary.load().openMpRuntime();
        var settings = settings(Map.of(DnnlLibrary.LIBRARY_PROPERTY, openMp.toString()), Map.of(), tmp);
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings));
        assertTrue(e.getMessage().contains("does not export dnnl_version()"), e.getMessage());
    }

    @Test
    void overrideNamingARealOneDnnLoadsIt(@TempDir Path tmp) {
        Path lib = DnnlLibrary.load().path();
        var settings = settings(Map.of(DnnlLibrary.LIBRARY_PROPERTY, lib.toString()), Map.of(), tmp);
        DnnlLibrary.LoadedLibrary loaded = NativeLoader.load(settings);
        assertEquals(DnnlLibrary.Source.OVERRIDE, loaded.source());
        assertEquals("3.13", loaded.version().major() + "." + loaded.version().minor());
        assertEquals(null, loaded.openMpRuntime(), "an override's runtime is found by name, not by path");
        assertEquals(null, loaded.cacheDir());
    }

    @Test
    void unsupportedPlatformGetsAMessageNotACrash(@TempDir Path tmp) {
        var settings = new NativeLoader.Settings(null, null, List.of(tmp), Platform.of("Linux", "ppc64le"));
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings));
        assertTrue(e.getMessage().contains("linux-ppc64le (os.name=Linux, os.arch=ppc64le)"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("org.bytedeco:dnnl:3.13-1.5.14 is published for linux-x86_64, linux-arm64,"
                                + " macosx-x86_64, macosx-arm64, windows-x86_64 only"),
                e.getMessage());
        assertTrue(e.getMessage().contains("-Donednn4j.dnnl.library=/path/to/libdnnl.so.3"), e.getMessage());
        assertEquals(List.of(), listFiles(tmp), "nothing extracted");
    }

    /** A supported platform whose jar is not on the class path: the jars to add, by Maven coordinates. */
    @Test
    void supportedPlatformWithoutItsJarNamesTheJarToAdd(@TempDir Path tmp) {
        var mac = new NativeLoader.Settings(null, null, List.of(tmp), Platform.of("Mac OS X", "aarch64"));
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(mac));
        String m = e.getMessage();
        assertTrue(m.contains("macosx-arm64 (os.name=Mac OS X, os.arch=aarch64)"), m);
        assertTrue(m.contains("org/bytedeco/dnnl/macosx-arm64/libomp.dylib"), m);
        assertTrue(m.contains("Add org.bytedeco:dnnl:3.13-1.5.14:macosx-arm64 to the class path"), m);
        assertTrue(m.contains("-Ddnnl.classifier=macosx-arm64"), m);
        assertTrue(m.contains("-Donednn4j.dnnl.library=/path/to/libdnnl.3.dylib"), m);

        var windows = new NativeLoader.Settings(null, null, List.of(tmp), Platform.of("Windows 11", "amd64"));
        m = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(windows))
                .getMessage();
        assertTrue(m.contains("org/bytedeco/javacpp/windows-x86_64/vcruntime140.dll"), m);
        assertTrue(m.contains("org/bytedeco/dnnl/windows-x86_64/dnnl.dll"), m);
        assertTrue(
                m.contains(
                        "Add org.bytedeco:dnnl:3.13-1.5.14:windows-x86_64 and org.bytedeco:javacpp:1.5.14:windows-x86_64"
                                + " to the class path"),
                m);
        assertTrue(m.contains("-Donednn4j.dnnl.library=/path/to/dnnl.dll"), m);
        assertEquals(List.of(), listFiles(tmp), "nothing extracted");
    }

    @Test
    void onTheModulePathTheHintNamesTheJarsAndModules() {
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        String linux =
                NativeLoader.notFoundHint(NativePayload.of("linux-x86_64").orElseThrow(), payload, true);
        assertTrue(linux.contains("found no payload module there (org.bytedeco.dnnl.linux.x86_64)"), linux);
        assertTrue(linux.contains("--add-modules org.bytedeco.dnnl.linux.x86_64)."), linux);
        assertTrue(linux.contains("put org.bytedeco:dnnl:3.13-1.5.14:linux-x86_64 and what it requires"), linux);
        assertTrue(linux.contains("(org.bytedeco:dnnl:3.13-1.5.14, org.bytedeco:javacpp:1.5.14)"), linux);
        String windows =
                NativeLoader.notFoundHint(NativePayload.of("windows-x86_64").orElseThrow(), payload, true);
        assertTrue(
                windows.contains(
                        "--add-modules org.bytedeco.dnnl.windows.x86_64,org.bytedeco.javacpp.windows.x86_64)."),
                windows);
        assertTrue(windows.contains("org.bytedeco:javacpp:1.5.14:windows-x86_64"), windows);
    }

    @Test
    void everyPlatformHasItsOwnCacheFolder() {
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        List<String> names = NativePayload.ALL.stream()
                .map(np -> NativeLoader.cacheFolderName(payload, np))
                .toList();
        assertEquals(NativePayload.ALL.size(), Set.copyOf(names).size(), names::toString);
        assertTrue(names.contains("dnnl-3.13-1.5.14-linux-x86_64-3610657c3538"), names::toString);
        for (NativePayload np : NativePayload.ALL) {
            assertTrue(NativeLoader.cacheFolderName(payload, np).contains("-" + np.platform() + "-"), np::platform);
        }
    }

    @Test
    void unusableCacheFoldersAreEachNamedThenTheNextIsTried(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "not a folder");
        Path bad1 = file.resolve("cache1");
        Path bad2 = file.resolve("cache2");
        var failing = new NativeLoader.Settings(null, null, List.of(bad1, bad2), Platform.current());
        RecordingLogger log = new RecordingLogger();
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(failing, log));
        assertTrue(
                e.getMessage().contains(bad1.toString()) && e.getMessage().contains(bad2.toString()), e.getMessage());
        assertEquals(2, log.lines.size(), log.lines::toString);
        assertTrue(log.lines.get(0).startsWith("WARNING cannot use the cache folder " + bad1), log.lines.get(0));
        assertTrue(log.lines.get(0).endsWith("; trying " + bad2), log.lines.get(0));
        assertTrue(log.lines.get(1).startsWith("WARNING cannot use the cache folder " + bad2), log.lines.get(1));
        assertTrue(log.lines.get(1).endsWith("; no other folder to try"), log.lines.get(1));

        Path good = tmp.resolve("good");
        var fallback = new NativeLoader.Settings(null, null, List.of(bad1, good), Platform.current());
        assertTrue(NativeLoader.load(fallback, new RecordingLogger()).path().startsWith(good));
    }

    @Test
    void defaultCacheFolderFollowsXdgThenHome() {
        Properties props = new Properties();
        props.setProperty("user.home", "/home/u");
        props.setProperty("java.io.tmpdir", "/tmp");
        props.setProperty("user.name", "u");
        var s = NativeLoader.Settings.from(props, Map.of("XDG_CACHE_HOME", "/xdg"), Platform.current());
        assertEquals(
                List.of(Path.of("/xdg/onednn4j"), Path.of("/home/u/.cache/onednn4j"), Path.of("/tmp/onednn4j-u")),
                s.cacheDirs());
        props.setProperty(DnnlLibrary.CACHE_PROPERTY, "/explicit");
        assertEquals(
                List.of(Path.of("/explicit")),
                NativeLoader.Settings.from(props, Map.of(), Platform.current()).cacheDirs());
    }

    /** Two JVMs start on an empty cache at the same moment: both load, and the cache holds whole files. */
    @Test
    void twoJvmsLoadingAtOnceIntoAnEmptyCacheBothSucceed(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("cache");
        Path go = tmp.resolve("go");
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            children.add(probe(List.of("-D" + DnnlLibrary.CACHE_PROPERTY + "=" + cache), go.toString()));
        }
        Thread.sleep(300); // both JVMs are up and spinning on the signal
        Files.createFile(go);
        for (Process p : children) {
            Result r = finish(p);
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().startsWith("loaded BUNDLED 3.13"), r.toString());
            assertTrue(r.out().contains(" openmp=same "), r.toString());
        }
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        NativePayload np = Platform.current().payload().orElseThrow();
        List<Path> all = listFiles(cache);
        assertEquals(np.files().size(), all.size(), "no partial files left: " + all);
        for (Path f : all) {
            NativePayload.NativeFile file = np.files().stream()
                    .filter(nf -> nf.name().equals(f.getFileName().toString()))
                    .findFirst()
                    .orElseThrow();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            assertEquals(
                    payload.sha256(np, file),
                    HexFormat.of().formatHex(sha.digest(Files.readAllBytes(f))),
                    f.toString());
        }
    }

    @Test
    void overrideSystemPropertyReachesTheLoaderOfAFreshJvm(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("missing/libdnnl.so.3");
        Result r = finish(probe(List.of("-D" + DnnlLibrary.LIBRARY_PROPERTY + "=" + missing), null));
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains(missing.toString()), r.toString());

        Path real = DnnlLibrary.load().path();
        Result ok = finish(probe(List.of("-D" + DnnlLibrary.LIBRARY_PROPERTY + "=" + real), null));
        assertEquals(0, ok.exit(), ok.toString());
        assertTrue(ok.out().startsWith("loaded OVERRIDE 3.13"), ok.toString());
        assertTrue(ok.out().contains(" openmp=same "), "found by file name, the copy libdnnl loaded: " + ok);
    }

    /** The loader's log lines, as {@code LEVEL message}. */
    @Test
    void logsOneInfoLineOnLoadingAWarningPerUnusableFolderAndDebugPerFileFound(@TempDir Path tmp) throws IOException {
        NativePayload np = Platform.current().payload().orElseThrow();
        Path good = tmp.resolve("good");
        var first = new NativeLoader.Settings(null, null, List.of(good), Platform.current());
        RecordingLogger log = new RecordingLogger();
        DnnlLibrary.LoadedLibrary lib = NativeLoader.load(first, log);
        assertEquals(1, log.lines.size(), log.lines::toString);
        String info = log.lines.get(0);
        assertTrue(info.startsWith("INFO loaded oneDNN 3.13.0 ("), info);
        assertTrue(info.contains(" from " + lib.path() + " (bundled, org.bytedeco:dnnl:3.13-1.5.14:"), info);
        assertTrue(info.contains("; OpenMP runtime " + np.openMpRuntime().name() + ")"), info);
        assertTrue(
                info.matches(".*; extracted [0-9.]+ MB into "
                        + Pattern.quote(lib.cacheDir().toString()) + ": .*"),
                info);
        for (NativePayload.NativeFile f : np.files()) {
            assertTrue(info.matches(".*" + Pattern.quote(f.name()) + " \\([0-9.]+ MB\\).*"), info);
        }

        Path file = Files.writeString(tmp.resolve("a-file"), "not a folder");
        Path bad = file.resolve("cache");
        var again = new NativeLoader.Settings(null, null, List.of(bad, good), Platform.current());
        log = new RecordingLogger();
        NativeLoader.load(again, log);
        List<String> lines = log.lines;
        assertEquals(2 + np.files().size(), lines.size(), lines::toString);
        assertTrue(
                lines.get(0)
                        .startsWith("WARNING cannot use the cache folder "
                                + bad.resolve(lib.cacheDir().getFileName())),
                lines.get(0));
        assertTrue(lines.get(0).endsWith("; trying " + good), lines.get(0));
        for (int i = 0; i < np.files().size(); i++) {
            Path f = lib.cacheDir().resolve(np.files().get(i).name());
            assertEquals("DEBUG found " + f + " already extracted (" + Files.size(f) + " bytes)", lines.get(1 + i));
        }
        assertTrue(lines.getLast().startsWith("INFO loaded oneDNN 3.13.0"), lines.getLast());
        assertTrue(lines.getLast().endsWith("; already extracted in " + lib.cacheDir()), lines.getLast());
    }

    /** A System.Logger that keeps what it is given. */
    private static final class RecordingLogger implements System.Logger {
        final List<String> lines = new ArrayList<>();

        @Override
        public String getName() {
            return NativeLoader.LOGGER_NAME;
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(level.getName() + " " + msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(level.getName() + " "
                    + (params == null || params.length == 0 ? format : MessageFormat.format(format, params)));
        }
    }

    private static List<Path> listFiles(Path dir) {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static NativeLoader.Settings settings(Map<String, String> props, Map<String, String> env, Path cache) {
        Properties p = new Properties();
        p.putAll(props);
        p.setProperty(DnnlLibrary.CACHE_PROPERTY, cache.resolve("cache").toString());
        return NativeLoader.Settings.from(p, env, Platform.current());
    }

    private record Result(int exit, String out, String err) {}

    private static Process probe(List<String> jvmArgs, String goFile) throws IOException {
        return LoadProbe.start(jvmArgs, goFile, Map.of());
    }

    private static Result finish(Process p) throws Exception {
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Result(
                p.exitValue(),
                new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
