package dev.onednn4j.fuzz;

/** Runs one case in this JVM: whatever escapes the case's own judgement is a failure too. */
final class Execution {
    private Execution() {}

    static Verdict run(FuzzCase c, FuzzCase.Trace trace) {
        try {
            Verdict v = c.body().run(trace);
            return v != null ? v : Verdict.wrong("the case gave no verdict");
        } catch (Throwable t) { // an Error escaping a case is a finding, not the end of the run
            return Verdict.wrong("the case threw: " + Checks.stackTrace(t));
        }
    }
}
