package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.natives.NativePayload.Artifact;
import dev.onednn4j.natives.NativePayload.NativeFile;
import java.io.InputStream;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The jars of every platform org.bytedeco:dnnl is published for, as Maven copies them into target/platform-jars
 * (maven-dependency-plugin, generate-test-resources): each holds every file its loader expects, at the path it looks
 * at, with the pinned SHA-256, built for that platform, needing nothing the payload or the OS does not bring, in an
 * order the loader follows; and each jar's module is the one the error message tells users to add. Only Linux x86-64
 * runs here: this is what is checked of the other four.
 */
class PlatformJarsTest {

    private static final NativeLoader.Payload PAYLOAD = NativeLoader.Payload.fromResources();

    static Stream<String> platforms() {
        return NativePayload.platforms().stream();
    }

    /** The versions Maven copied are the ones runtime.properties was filtered with. */
    @Test
    void theCopiedVersionsAreThePinnedOnes() {
        assertEquals(System.getProperty("onednn4j.test.dnnlVersion"), PAYLOAD.artifactVersion());
        assertEquals(System.getProperty("onednn4j.test.javacppVersion"), PAYLOAD.javacppVersion());
        assertEquals("org.bytedeco:dnnl:" + PAYLOAD.artifactVersion(), PAYLOAD.artifact());
    }

    @ParameterizedTest
    @MethodSource("platforms")
    void everyFileTheLoaderExpectsIsThereWithItsPinnedChecksum(String platform) throws Exception {
        NativePayload np = NativePayload.of(platform).orElseThrow();
        String os = platform.substring(0, platform.indexOf('-'));
        String arch = platform.substring(platform.indexOf('-') + 1);
        String format = switch (os) {
            case "linux" -> "ELF";
            case "macosx" -> "Mach-O";
            case "windows" -> "PE";
            default -> throw new AssertionError(os);
        };
        Map<NativeFile, NativeBinary> binaries = new LinkedHashMap<>();
        for (Artifact a : np.artifacts()) {
            try (JarFile jar = new JarFile(jar(a, platform).toFile())) {
                for (NativeFile f : np.files()) {
                    if (f.artifact() != a) {
                        continue;
                    }
                    JarEntry entry = jar.getJarEntry(np.resource(f));
                    assertNotNull(entry, np.resource(f) + " in " + jar.getName());
                    byte[] bytes;
                    try (InputStream in = jar.getInputStream(entry)) {
                        bytes = in.readAllBytes();
                    }
                    assertEquals(PAYLOAD.sha256(np, f), sha256(bytes), "SHA-256 of " + np.resource(f));
                    NativeBinary binary = NativeBinary.parse(bytes);
                    assertEquals(format, binary.format(), f::name);
                    assertEquals(arch, binary.arch(), f::name);
                    binaries.put(f, binary);
                }
            }
        }
        assertEquals(Set.copyOf(np.files()), binaries.keySet(), "every file of " + platform + " was checked");

        // What each file needs is either loaded before it (the table's order) or part of the OS.
        List<String> order =
                np.files().stream().map(f -> f.name().toLowerCase(Locale.ROOT)).toList();
        for (int i = 0; i < order.size(); i++) {
            NativeFile f = np.files().get(i);
            for (String dep : binaries.get(f).needed()) {
                int at = order.indexOf(baseName(dep));
                if (at >= 0) {
                    assertTrue(at < i, f.name() + " needs " + dep + ", loaded after it");
                } else {
                    assertTrue(isPartOfTheOs(os, dep), f.name() + " needs " + dep + ", which " + platform + " lacks");
                }
            }
        }
        List<String> libraryNeeds = binaries.get(np.library()).needed().stream()
                .map(PlatformJarsTest::baseName)
                .toList();
        assertTrue(
                libraryNeeds.contains(np.openMpRuntime().name().toLowerCase(Locale.ROOT)),
                "libdnnl runs on " + np.openMpRuntime().name() + ": " + libraryNeeds);
        for (NativeFile r : np.runtimes()) {
            assertTrue(
                    libraryNeeds.contains(r.name().toLowerCase(Locale.ROOT))
                            || np.runtimes().stream()
                                    .anyMatch(other -> binaries.get(other).needed().stream()
                                            .map(PlatformJarsTest::baseName)
                                            .anyMatch(r.name().toLowerCase(Locale.ROOT)::equals)),
                    r.name() + " is needed by something");
            // A runtime loaded first by absolute path satisfies libdnnl's import of it by the name it is known by.
            switch (os) {
                case "linux" -> assertEquals(r.name(), binaries.get(r).name(), "soname of " + r.name());
                case "macosx" ->
                    assertEquals("@rpath/" + r.name(), binaries.get(r).name(), "install name");
                default -> {}
            }
        }
    }

    @ParameterizedTest
    @MethodSource("platforms")
    void eachJarsModuleIsTheOneTheErrorMessageNames(String platform) {
        NativePayload np = NativePayload.of(platform).orElseThrow();
        List<String> roots = new ArrayList<>();
        List<Path> jars = new ArrayList<>();
        for (Artifact a : np.artifacts()) {
            Path jar = jar(a, platform);
            jars.add(jar);
            Set<ModuleReference> found = ModuleFinder.of(jar).findAll();
            assertEquals(1, found.size(), jar::toString);
            ModuleDescriptor module = found.iterator().next().descriptor();
            assertEquals(np.module(a), module.name(), jar::toString);
            assertTrue(module.isOpen(), module::toString);
            assertTrue(
                    module.requires().stream()
                            .anyMatch(r -> r.name().equals(a.module())
                                    && r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE)),
                    module::toString);
            roots.add(module.name());
            String hint = NativeLoader.notFoundHint(np, PAYLOAD, true);
            assertTrue(hint.contains(module.name()), hint);
            assertTrue(hint.contains(PAYLOAD.coordinates(a, platform)), hint);
            assertTrue(hint.contains(PAYLOAD.coordinates(a, null)), hint);
            String classPath = NativeLoader.notFoundHint(np, PAYLOAD, false);
            assertTrue(classPath.contains(PAYLOAD.coordinates(a, platform)), classPath);
        }
        assertTrue(
                NativeLoader.notFoundHint(np, PAYLOAD, true)
                        .contains("--add-modules " + String.join(",", roots) + ")."),
                roots::toString);
        // What --add-modules does: resolve the platform's modules with the two jars every one of them requires.
        jars.add(jar(Artifact.DNNL, null));
        jars.add(jar(Artifact.JAVACPP, null));
        Configuration resolved = Configuration.resolve(
                ModuleFinder.of(jars.toArray(Path[]::new)),
                List.of(ModuleLayer.boot().configuration()),
                ModuleFinder.of(),
                roots);
        for (String m : List.of(Artifact.DNNL.module(), Artifact.JAVACPP.module())) {
            assertTrue(resolved.findModule(m).isPresent(), m + " resolved for " + platform);
        }
    }

    @Test
    void theModulesThePlatformJarsRequireComeFromTheJarsWithoutClassifier() {
        ModuleDescriptor dnnl = module(jar(Artifact.DNNL, null));
        assertEquals("org.bytedeco.dnnl", dnnl.name());
        assertTrue(dnnl.requires().stream().anyMatch(r -> r.name().equals("org.bytedeco.javacpp")), dnnl::toString);
        assertEquals("org.bytedeco.javacpp", module(jar(Artifact.JAVACPP, null)).name());
    }

    private static ModuleDescriptor module(Path jar) {
        return ModuleFinder.of(jar).findAll().iterator().next().descriptor();
    }

    /** A jar Maven copied: a missing one fails the test, since the build downloads it. */
    private static Path jar(Artifact a, String classifier) {
        String dir = System.getProperty("onednn4j.test.platformJars");
        assertNotNull(dir, "onednn4j.test.platformJars is set by the build (native/pom.xml, surefire)");
        Path jar = Path.of(dir)
                .resolve(a.artifactId() + "-" + PAYLOAD.version(a) + (classifier == null ? "" : "-" + classifier)
                        + ".jar");
        assertTrue(
                Files.isRegularFile(jar),
                jar + " is missing: maven-dependency-plugin copies it at generate-test-resources"
                        + " (run through scripts/test)");
        return jar;
    }

    private static String baseName(String dependency) {
        return dependency.substring(dependency.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    }

    /** Libraries every machine of that OS has, which no payload brings. */
    private static boolean isPartOfTheOs(String os, String dependency) {
        String d = dependency.toLowerCase(Locale.ROOT);
        return switch (os) {
            case "linux" ->
                Set.of("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2")
                                .contains(d)
                        || d.startsWith("ld-linux");
            case "macosx" -> d.startsWith("/usr/lib/") || d.startsWith("/system/library/");
            case "windows" -> d.startsWith("api-ms-win-") || d.equals("kernel32.dll");
            default -> false;
        };
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
