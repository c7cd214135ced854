package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
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
        assertEquals(Optional.of("3000"), OpenMpWait.spinCount(props(null), Map.of()));
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
        if (!Platform.current().os().equals("linux")) {
            String why = "only the Linux payload runs on libgomp; this is "
                    + Platform.current().id();
            if (System.getenv("CI") != null) {
                fail(why + ". CI runs on Linux, so there this is a failure, not a skip.");
            }
            System.err.println("SKIPPED: " + why);
            Assumptions.abort(why);
        }
        // what native code sees, then what libgomp itself read when it loaded (OMP_DISPLAY_ENV): it was in time
        assertEquals("GOMP_SPINCOUNT=3000 libgomp=3000", probe(List.of(), Map.of()));
        assertEquals("GOMP_SPINCOUNT=20 libgomp=20", probe(List.of("-Donednn4j.openmp.spinCount=20"), Map.of()));
        assertEquals(
                "GOMP_SPINCOUNT=null libgomp=300000", probe(List.of("-Donednn4j.openmp.spinCount=default"), Map.of()));
        assertEquals("GOMP_SPINCOUNT=null libgomp=0", probe(List.of(), Map.of("OMP_WAIT_POLICY", "passive")));
        assertEquals("GOMP_SPINCOUNT=300 libgomp=300", probe(List.of(), Map.of("GOMP_SPINCOUNT", "300")));
        // a bad value is a warning, not a library that cannot load: the default applies
        assertEquals("GOMP_SPINCOUNT=3000 libgomp=3000", probe(List.of("-Donednn4j.openmp.spinCount=fast"), Map.of()));
    }

    private static String probe(List<String> jvmArgs, Map<String, String> env)
            throws IOException, InterruptedException {
        Map<String, String> all = new HashMap<>(env);
        all.put("OMP_DISPLAY_ENV", "verbose"); // libgomp prints the settings it read, on stderr, when it loads
        Process p = LoadProbe.start(jvmArgs, null, all);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out + err);
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        Matcher m = Pattern.compile("GOMP_SPINCOUNT = '(\\d+)'").matcher(err);
        assertTrue(m.find(), "libgomp displayed its settings: " + err);
        return last.substring(last.lastIndexOf(' ') + 1) + " libgomp=" + m.group(1);
    }
}
