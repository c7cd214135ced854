package dev.onednn4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor survives what it supervises: a child JVM that crashes (abort, SIGSEGV) is counted with the case it
 * was running and a new child goes on from the next case; a case that never ends is killed as a hang; a wrong result
 * and an unclear refusal are counted as such. The children are real JVMs, crashing for real, through test-only case
 * sources ({@link TestSources}).
 */
class SupervisorTest {

    @TempDir
    Path out;

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    Supervisor.Summary run(Class<? extends CaseSource> source, long cases, int jobs) throws IOException {
        Supervisor.Settings s = Supervisor.Settings.of(7, cases, Set.of(), jobs, out)
                .withSource(source.getName())
                .withLog(new PrintStream(logged, true, StandardCharsets.UTF_8));
        return Supervisor.run(s);
    }

    static List<Status> statuses(Supervisor.Summary r) {
        return r.outcomes().stream().map(Outcome::status).toList();
    }

    @Test
    void aCrashIsCountedWithItsCaseAndTheRunGoesOn() throws IOException {
        Supervisor.Summary r = run(TestSources.Crashing.class, 7, 1);
        assertEquals(
                List.of(Status.PASS, Status.PASS, Status.CRASH, Status.PASS, Status.CRASH, Status.PASS, Status.PASS),
                statuses(r),
                r.outcomes().toString());
        assertEquals(3, r.childStarts(), "one child, then one more after each crash");
        Outcome abort = r.outcomes().get(2);
        assertEquals("aborts", abort.description());
        assertEquals("test:abort", abort.kernel(), "the kernel reported before the crash is kept");
        assertTrue(abort.detail().contains("exit code 134 (signal 6, SIGABRT)"), abort.detail());
        Outcome segv = r.outcomes().get(4);
        assertTrue(segv.detail().contains("SIGSEGV (0xb)"), segv.detail());
        assertTrue(segv.detail().contains("hs_err: "), segv.detail());
        try (var files = Files.list(out.resolve("hs_err"))) {
            assertEquals(1, files.count(), "the SIGSEGV's hs_err file, in the output folder");
        }
        String log = logged.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("reproduce: scripts/fuzz --seed 7 --case 4 --source "), log);
        assertTrue(r.oneDnnVersion().startsWith("3."), r.oneDnnVersion());
    }

    @Test
    void parallelChildrenCoverEveryCaseDespiteCrashes() throws IOException {
        Supervisor.Summary r = run(TestSources.Crashing.class, 9, 2);
        assertEquals(9, r.outcomes().size());
        for (int i = 0; i < 9; i++) {
            assertEquals(i, r.outcomes().get(i).index());
        }
        assertEquals(2, r.count(Status.CRASH));
        assertEquals(7, r.count(Status.PASS));
    }

    @Test
    void wrongResultsAndUnclearErrorsAreCounted() throws IOException {
        Supervisor.Summary r = run(TestSources.Misjudged.class, 5, 1);
        assertEquals(
                List.of(Status.WRONG, Status.UNCLEAR, Status.PASS, Status.WRONG, Status.WRONG),
                statuses(r),
                r.outcomes().toString());
        assertTrue(
                r.outcomes().get(0).detail().contains("1 of 8 element(s) out of bound"),
                r.outcomes().get(0).detail());
        assertTrue(
                r.outcomes().get(1).detail().contains("does not name 12345"),
                r.outcomes().get(1).detail());
        assertTrue(
                r.outcomes().get(3).detail().contains("the case itself fails"),
                r.outcomes().get(3).detail());
        assertTrue(
                r.outcomes().get(4).detail().startsWith("accepted"),
                r.outcomes().get(4).detail());
        assertEquals(1, r.childStarts(), "no child died");

        Path json = Report.write(r, out);
        String report = Files.readString(json);
        assertTrue(report.contains("\"wrong\": 3, \"unclear\": 1"), report);
        assertTrue(report.contains("\"reproduce\": \"scripts/fuzz --seed 7 --case 1 --source "), report);
        assertEquals(6, Files.readAllLines(out.resolve("fuzz-cases.tsv")).size(), "a header and a row per case");
        String summary = Report.summary(r);
        assertTrue(summary.contains("wrong results: 3"), summary);
        assertTrue(summary.contains("verdict: FAIL"), summary);
    }

    @Test
    void aCaseThatNeverEndsIsKilledAsAHang() throws IOException {
        Supervisor.Settings s = Supervisor.Settings.of(7, 3, Set.of(), 1, out)
                .withSource(TestSources.Sleeping.class.getName())
                .withTimeout(Duration.ofSeconds(3))
                .withLog(new PrintStream(logged, true, StandardCharsets.UTF_8));
        Supervisor.Summary r = Supervisor.run(s);
        assertEquals(
                List.of(Status.PASS, Status.HANG, Status.PASS),
                statuses(r),
                r.outcomes().toString());
        assertTrue(
                r.outcomes().get(1).detail().startsWith("killed after the time limit"),
                r.outcomes().get(1).detail());
    }

    @Test
    void aCrashSummaryNamesTheFrameWithoutTemplateNoise() {
        assertEquals(
                "C  [libdnnl.so.3+0x2f9b2e7]  dnnl::impl::cpu::x64::brgemm_convolution_fwd_t<>::perform_outwork() "
                        + "const::{lambda()#1}::operator()() const+0xd7",
                Supervisor.shorten("C  [libdnnl.so.3+0x2f9b2e7]  dnnl::impl::cpu::x64::brgemm_convolution_fwd_t<"
                        + "(dnnl::impl::cpu::x64::cpu_isa_t)880>::perform_outwork(dnnl::impl::cpu::x64::"
                        + "brgemm_convolution_fwd_t<(dnnl::impl::cpu::x64::cpu_isa_t)880>::brgemm_thread_ctx_t const&, "
                        + "char*, int, bool) const::{lambda(bool, bool, int, int)#1}::operator()(bool, bool, int, int) "
                        + "const+0xd7"));
    }
}
