package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** From os.name and os.arch to the payload the loader uses; what it says where there is none. */
class PlatformTest {

    @ParameterizedTest(name = "{0} / {1} -> {2}")
    @CsvSource({
        "Linux, amd64, linux-x86_64, libdnnl.so.3, libgomp.so.1",
        "Linux, aarch64, linux-arm64, libdnnl.so.3, libgomp.so.1",
        "Mac OS X, x86_64, macosx-x86_64, libdnnl.3.dylib, libiomp5.dylib",
        "Mac OS X, aarch64, macosx-arm64, libdnnl.3.dylib, libomp.dylib",
        "Windows 10, amd64, windows-x86_64, dnnl.dll, vcomp140.dll",
        "Windows 11, amd64, windows-x86_64, dnnl.dll, vcomp140.dll",
    })
    void supportedPlatformsMapToTheirPayload(
            String osName, String osArch, String id, String library, String openMpRuntime) {
        Platform p = Platform.of(osName, osArch);
        assertEquals(id, p.id());
        assertTrue(p.isBundled(), p::toString);
        assertEquals(library, p.libraryFileName());
        NativePayload np = p.payload().orElseThrow();
        assertEquals(id, np.platform());
        assertEquals(library, np.library().name());
        assertEquals(openMpRuntime, np.openMpRuntime().name());
        assertEquals(np.library(), np.files().getLast(), "libdnnl is loaded last, after what it needs");
    }

    @Test
    void windowsLoadsTheMsvcRuntimeInDependencyOrderFromJavaCpp() {
        NativePayload np = NativePayload.of("windows-x86_64").orElseThrow();
        assertEquals(
                List.of("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll", "vcomp140.dll", "dnnl.dll"),
                np.files().stream().map(NativePayload.NativeFile::name).toList());
        for (NativePayload.NativeFile f : np.runtimes()) {
            assertEquals(NativePayload.Artifact.JAVACPP, f.artifact(), f::name);
            assertEquals("org/bytedeco/javacpp/windows-x86_64/" + f.name(), np.resource(f));
        }
        assertEquals("org/bytedeco/dnnl/windows-x86_64/dnnl.dll", np.resource(np.library()));
        assertEquals(List.of(NativePayload.Artifact.DNNL, NativePayload.Artifact.JAVACPP), List.copyOf(np.artifacts()));
        assertEquals("org.bytedeco.javacpp.windows.x86_64", np.module(NativePayload.Artifact.JAVACPP));
    }

    @Test
    void everyOtherPlatformTakesEverythingFromTheDnnlJar() {
        for (NativePayload np : NativePayload.ALL) {
            if (!np.platform().startsWith("windows")) {
                assertEquals(List.of(NativePayload.Artifact.DNNL), List.copyOf(np.artifacts()), np::platform);
                assertEquals(
                        "org/bytedeco/dnnl/" + np.platform() + "/"
                                + np.library().name(),
                        np.resource(np.library()));
                assertEquals(
                        "org.bytedeco.dnnl." + np.platform().replace('-', '.'), np.module(NativePayload.Artifact.DNNL));
            }
        }
    }

    @Test
    void theSupportedPlatformsAreThoseOrgBytedecoDnnlIsPublishedFor() {
        assertEquals(
                List.of("linux-x86_64", "linux-arm64", "macosx-x86_64", "macosx-arm64", "windows-x86_64"),
                Platform.supported());
    }

    @ParameterizedTest(name = "{0} / {1} -> {2}")
    @CsvSource({
        "Linux, ppc64le, linux-ppc64le, libdnnl.so.3",
        "Linux, s390x, linux-s390x, libdnnl.so.3",
        "Linux, arm, linux-arm, libdnnl.so.3",
        "FreeBSD, amd64, freebsd-x86_64, libdnnl.so.3",
        "SunOS, sparcv9, sunos-sparcv9, libdnnl.so.3",
        "Windows 10, x86, windows-x86, dnnl.dll",
        "Windows 11, aarch64, windows-arm64, dnnl.dll",
        "Linux, i686, linux-x86, libdnnl.so.3",
    })
    void unsupportedPlatformsGetAClearMessage(
            String osName, String osArch, String id, String library, @TempDir Path tmp) {
        Platform p = Platform.of(osName, osArch);
        assertEquals(id, p.id());
        assertFalse(p.isBundled(), p::toString);
        var settings = new NativeLoader.Settings(null, null, List.of(tmp), p);
        String m = assertThrows(UnsatisfiedLinkError.class, () -> NativeLoader.load(settings))
                .getMessage();
        assertTrue(
                m.startsWith("Could not load oneDNN (" + library + ") on platform " + id + " (os.name=" + osName
                        + ", os.arch=" + osArch + ")."),
                m);
        assertTrue(
                m.contains("no bundled oneDNN for " + id + ": org.bytedeco:dnnl:3.13-1.5.14 is published for"
                        + " linux-x86_64, linux-arm64, macosx-x86_64, macosx-arm64, windows-x86_64 only"),
                m);
        assertTrue(m.contains("-Donednn4j.dnnl.library=/path/to/" + library), m);
        assertTrue(m.contains("org.bytedeco:dnnl:3.13-1.5.14:<platform>"), m);
    }

    @Test
    void currentPlatformIsTheJvmsOwn() {
        Platform p = Platform.current();
        assertEquals(System.getProperty("os.name"), p.osName());
        assertEquals(System.getProperty("os.arch"), p.osArch());
        assertEquals(Platform.of(p.osName(), p.osArch()), p);
    }
}
