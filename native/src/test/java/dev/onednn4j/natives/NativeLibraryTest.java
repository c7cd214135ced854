package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
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
        assertTrue(Files.isRegularFile(lib.path().resolveSibling(NativeLoader.LIBGOMP)));
        assertEquals(lib, DnnlLibrary.load(), "loaded once per process");
    }

    @Test
    void pinnedChecksumsAreThoseOfTheJarOnTheClasspath() throws Exception {
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        for (String file : List.of(NativeLoader.LIBDNNL, NativeLoader.LIBGOMP)) {
            String resource = payload.resource(Platform.current(), file);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = getClass().getClassLoader().getResourceAsStream(resource)) {
                assertTrue(in != null, resource + " on the classpath");
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                }
            }
            assertEquals(payload.sha256().get(file), HexFormat.of().formatHex(sha.digest()), resource);
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
        Path gomp = DnnlLibrary.load().path().resolveSibling(NativeLoader.LIBGOMP);
        var settings = settings(Map.of(DnnlLibrary.LIBRARY_PROPERTY, gomp.toString()), Map.of(), tmp);
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
    }

    @Test
    void unsupportedPlatformGetsAMessageNotACrash(@TempDir Path tmp) {
        var settings = new NativeLoader.Settings(null, null, List.of(tmp), Platform.of("Mac OS X", "aarch64"));
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings));
        assertTrue(e.getMessage().contains("macosx-arm64 (os.name=Mac OS X, os.arch=aarch64)"), e.getMessage());
        assertTrue(e.getMessage().contains("bundles it for linux-x86_64 only"), e.getMessage());
        assertTrue(e.getMessage().contains("-Donednn4j.dnnl.library=/path/to/libdnnl.so.3"), e.getMessage());
    }

    @Test
    void unusableCacheFoldersAreEachNamedThenTheNextIsTried(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "not a folder");
        Path bad1 = file.resolve("cache1");
        Path bad2 = file.resolve("cache2");
        var failing = new NativeLoader.Settings(null, null, List.of(bad1, bad2), Platform.current());
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(failing));
        assertTrue(
                e.getMessage().contains(bad1.toString()) && e.getMessage().contains(bad2.toString()), e.getMessage());

        Path good = tmp.resolve("good");
        var fallback = new NativeLoader.Settings(null, null, List.of(bad1, good), Platform.current());
        assertTrue(NativeLoader.load(fallback).path().startsWith(good));
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
        }
        NativeLoader.Payload payload = NativeLoader.Payload.fromResources();
        try (Stream<Path> files = Files.walk(cache)) {
            List<Path> all = files.filter(Files::isRegularFile).toList();
            assertEquals(2, all.size(), "no partial files left: " + all);
            for (Path f : all) {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                assertEquals(
                        payload.sha256().get(f.getFileName().toString()),
                        HexFormat.of().formatHex(sha.digest(Files.readAllBytes(f))),
                        f.toString());
            }
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
    }

    private static NativeLoader.Settings settings(Map<String, String> props, Map<String, String> env, Path cache) {
        Properties p = new Properties();
        p.putAll(props);
        p.setProperty(DnnlLibrary.CACHE_PROPERTY, cache.resolve("cache").toString());
        return NativeLoader.Settings.from(p, env, Platform.current());
    }

    private record Result(int exit, String out, String err) {}

    private static Process probe(List<String> jvmArgs, String goFile) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoadProbe.class.getName());
        if (goFile != null) {
            cmd.add(goFile);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(DnnlLibrary.LIBRARY_ENV);
        pb.environment().remove(DnnlLibrary.CACHE_ENV);
        return pb.start();
    }

    private static Result finish(Process p) throws Exception {
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Result(
                p.exitValue(),
                new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
