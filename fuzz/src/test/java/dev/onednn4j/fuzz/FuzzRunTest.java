package dev.onednn4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short seeded fuzz run over every layer, in child JVMs as {@code scripts/fuzz} runs it: no crash, no hang, no wrong
 * result, no unclear error. (oneDNN 3.13's brgemm convolution crashes on some valid convolutions whose output columns
 * see only padding; until the library avoids that kernel there, this test fails, listing the crashes.)
 */
class FuzzRunTest {

    /** Enough cases for every layer, valid and invalid, under the default seed. */
    static final long CASES = Long.getLong("onednn4j.fuzz.testCases", 1500);

    @TempDir
    Path out;

    @Test
    void aShortSeededRunOverEveryLayerFindsNothing() throws IOException {
        Supervisor.Settings s = Supervisor.Settings.of(Fuzz.DEFAULT_SEED, CASES, Set.of(), 2, out)
                .withLog(new PrintStream(OutputStream.nullOutputStream()));
        Supervisor.Summary r = Supervisor.run(s);
        String summary = Report.summary(r);
        assertEquals(CASES, r.outcomes().size(), summary);
        Map<String, Report.Counts> perLayer = Report.perLayer(r.outcomes());
        for (String layer : Layers.CLASSES) {
            Report.Counts c = perLayer.get(layer);
            assertTrue(c != null && c.valid > 0 && c.invalid > 0, layer + " not covered:\n" + summary);
        }
        assertEquals(0, r.count(Status.CRASH), summary);
        assertEquals(0, r.count(Status.HANG), summary);
        assertEquals(0, r.count(Status.WRONG), summary);
        assertEquals(0, r.count(Status.UNCLEAR), summary);
    }
}
