package dev.onednn4j.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.benchmarks.Shape;
import dev.onednn4j.benchmarks.report.Report.Score;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shape-suite tables: columns without a measurement are left out, the compiled rows get their ratios. */
class ReportTest {

    @Test
    void tableLeavesOutColumnsWithNoValueInAnyRow() {
        StringBuilder md = new StringBuilder();
        Report.table(
                md,
                List.of("shape", "a", "b", "c"),
                List.of(List.of("s1", "1.0", "-", "-"), List.of("s2", "-", "-", "2.0")),
                true);
        assertEquals("| shape | a | c |\n|---|---:|---:|\n| s1 | 1.0 | - |\n| s2 | - | 2.0 |\n", md.toString());
    }

    @Test
    void aRunOfTheCompiledRowsAloneHasTheirRatiosAndTheTunedTargetOnly() {
        String shape = Shape.suite().get(0).name();
        Map<String, Map<String, Score>> r = new LinkedHashMap<>();
        r.put(Report.COMPILED, Map.of(shape, new Score(1.0, 0.01)));
        r.put(Report.TUNED, Map.of(shape, new Score(0.5, 0.01)));
        r.put(Report.ORT, Map.of(shape, new Score(2.0, 0.01)));
        StringBuilder md = new StringBuilder();
        Report.suiteTable(md, r);
        Report.targets(md, r);
        String out = md.toString();
        assertTrue(out.contains("| " + shape + " |"), out);
        assertTrue(out.contains("compiled vs best peer | compiled, tuned vs best peer |"), out);
        assertTrue(out.contains("| 2.00x faster | 4.00x faster |"), out);
        assertTrue(!out.contains("onednn4j CL vs raw") && !out.contains("faster than DJL"), out);
        assertTrue(out.contains("| " + shape + " | yes (4.00x) |"), out);
    }
}
