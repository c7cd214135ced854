package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The OpenMP spin count the loader sets before libgomp loads: when, what, and what the user's settings win over. */
class OpenMpWaitTest {

    static Properties props(String spin) {
        Properties p = new Properties();
        if (spin != null) {
            p.setProperty(OpenMpWait.PROPERTY, spin);
        }
        return p;
    }

    @Test
    void theLibraryDefaultUnlessTheEnvironmentOrThePropertySaysOtherwise() {
        assertEquals(Optional.of("1000"), OpenMpWait.spinCount(props(null), Map.of()));
        assertEquals(Optional.of("50"), OpenMpWait.spinCount(props("50"), Map.of()));
        assertEquals(Optional.of("0"), OpenMpWait.spinCount(props(" 0 "), Map.of()));
        assertEquals(Optional.empty(), OpenMpWait.spinCount(props("default"), Map.of()));
        // the user's OpenMP settings are always obeyed, the property included
        assertEquals(Optional.empty(), OpenMpWait.spinCount(props("50"), Map.of("OMP_WAIT_POLICY", "active")));
        assertEquals(Optional.empty(), OpenMpWait.spinCount(props(null), Map.of("GOMP_SPINCOUNT", "7")));
    }

    @Test
    void aBadPropertyIsRefusedNamingItAndTheValue() {
        for (String bad : List.of("-1", "fast", "1e3", "99999999999999999999")) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> OpenMpWait.spinCount(props(bad), Map.of()));
            assertEquals(
                    "-Donednn4j.openmp.spinCount must be a non-negative spin count or 'default', but got '" + bad + "'",
                    e.getMessage());
        }
    }

    /** In fresh JVMs (libgomp reads its environment once, when loaded): what native code sees after loading. */
    @Test
    void aFreshJvmLoadsLibgompWithTheChosenSpinCount() throws Exception {
        assumeTrue(
                Platform.current().os().equals("linux"),
                "only the Linux payload runs on libgomp; this is "
                        + Platform.current().id());
        assertEquals("GOMP_SPINCOUNT=1000", probe(List.of(), Map.of()));
        assertEquals("GOMP_SPINCOUNT=20", probe(List.of("-Donednn4j.openmp.spinCount=20"), Map.of()));
        assertEquals("GOMP_SPINCOUNT=null", probe(List.of("-Donednn4j.openmp.spinCount=default"), Map.of()));
        assertEquals("GOMP_SPINCOUNT=null", probe(List.of(), Map.of("OMP_WAIT_POLICY", "passive")));
        assertEquals("GOMP_SPINCOUNT=300", probe(List.of(), Map.of("GOMP_SPINCOUNT", "300")));
    }

    private static String probe(List<String> jvmArgs, Map<String, String> env)
            throws IOException, InterruptedException {
        Process p = LoadProbe.start(jvmArgs, null, env);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out + err);
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        return last.substring(last.lastIndexOf(' ') + 1);
    }
}
