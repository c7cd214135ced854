package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * onednn4j-native on the module path, in fresh JVMs, with the flags docs/native-library.md gives: the payload's jar on
 * the module path is enough (no module requires it and no {@code --add-modules} resolves it: the loader reads it in
 * place); {@code --add-modules} still works; without the jar the error names the jars to add.
 */
class ModulePathTest {

    private static final String MAIN = "dev.onednn4j.natives/" + LoadProbe.class.getName();

    @Test
    void thePayloadJarOnTheModulePathIsEnough(@TempDir Path tmp) throws Exception {
        Result r = run(List.of("-D" + DnnlLibrary.CACHE_PROPERTY + "=" + tmp), true);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().startsWith("loaded BUNDLED 3.13"), r.toString());
        assertTrue(r.out().contains(" module=dev.onednn4j.natives "), "ran as a named module: " + r);
        assertTrue(r.out().contains(tmp.toString()), r.toString());
        assertFalse(r.err().contains("restricted method"), "native access granted: " + r);
    }

    @Test
    void withAddModulesItLoadsFromThePayloadModule(@TempDir Path tmp) throws Exception {
        NativePayload np = Platform.current().payload().orElseThrow();
        List<String> modules = np.artifacts().stream().map(np::module).toList();
        Result r = run(
                List.of("-D" + DnnlLibrary.CACHE_PROPERTY + "=" + tmp, "--add-modules", String.join(",", modules)),
                true);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().startsWith("loaded BUNDLED 3.13"), r.toString());
        assertTrue(r.out().contains(" module=dev.onednn4j.natives "), "ran as a named module: " + r);
        assertTrue(r.out().contains(" openmp=same "), r.toString());
        assertTrue(r.out().contains(tmp.toString()), r.toString());
        assertFalse(r.err().contains("restricted method"), "native access granted: " + r);
    }

    @Test
    void withoutThePayloadJarTheErrorNamesTheJarsToAdd(@TempDir Path tmp) throws Exception {
        Result r = run(List.of("-D" + DnnlLibrary.CACHE_PROPERTY + "=" + tmp), false);
        assertEquals(3, r.exit(), r.toString());
        NativePayload np = Platform.current().payload().orElseThrow();
        assertTrue(r.err().contains("onednn4j runs on the module path (module dev.onednn4j.natives)"), r.toString());
        assertTrue(
                r.err().contains("found no payload module there (" + np.module(NativePayload.Artifact.DNNL)),
                r.toString());
        assertTrue(r.err().contains("org.bytedeco:dnnl:3.13-1.5.14:" + np.platform()), r.toString());
    }

    /**
     * What a user puts on the module path: onednn4j-native (here its classes, with the tests patched in for the
     * probe), the payload jar of the platform and what its module requires (org.bytedeco:dnnl, org.bytedeco:javacpp).
     */
    private static Result run(List<String> flags, boolean withPayload)
            throws IOException, InterruptedException, URISyntaxException {
        String platformJar = "-" + Platform.current().payload().orElseThrow().platform() + ".jar";
        Path classes = codeSource(NativeLoader.class);
        Path testClasses = codeSource(LoadProbe.class);
        List<String> modulePath = new ArrayList<>(List.of(classes.toString()));
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> {
                    String name = Path.of(e).getFileName().toString();
                    return name.endsWith(".jar")
                            && (name.startsWith("dnnl-") || name.startsWith("javacpp-"))
                            && (withPayload || !name.endsWith(platformJar));
                })
                .forEach(modulePath::add);
        assertTrue(
                modulePath.size() >= (withPayload ? 4 : 3),
                "the org.bytedeco jars are on the test class path: " + modulePath);
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=dev.onednn4j.natives",
                "--module-path",
                String.join(File.pathSeparator, modulePath),
                "--patch-module",
                "dev.onednn4j.natives=" + testClasses));
        cmd.addAll(flags);
        cmd.addAll(List.of("-m", MAIN));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(DnnlLibrary.LIBRARY_ENV);
        pb.environment().remove(DnnlLibrary.CACHE_ENV);
        Process p = pb.start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Result(
                p.exitValue(),
                new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8),
                String.join(" ", cmd));
    }

    private static Path codeSource(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private record Result(int exit, String out, String err, String command) {}
}
