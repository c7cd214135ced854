package dev.onednn4j.fuzz;

/**
 * What a case found, as the case itself judges it (crashes and hangs are judged by the supervisor, which outlives
 * the JVM that ran the case).
 *
 * @param status       {@link Status#PASS}, {@link Status#WRONG} or {@link Status#UNCLEAR}
 * @param detail       what was checked or what went wrong, for the report
 * @param nonFinite    whether the input held NaN or infinities
 * @param weakEvidence whether the reference output was mostly (over 30%) zeros, which benchdnn treats as little
 *                     evidence (still checked, and still a failure if out of bound)
 */
public record Verdict(Status status, String detail, boolean nonFinite, boolean weakEvidence) {

    /**
     * A passing verdict.
     *
     * @param detail what was checked
     * @return a {@link Status#PASS} verdict on finite data
     */
    public static Verdict pass(String detail) {
        return new Verdict(Status.PASS, detail, false, false);
    }

    /**
     * A failing verdict.
     *
     * @param detail what went wrong
     * @return a {@link Status#WRONG} verdict on finite data
     */
    public static Verdict wrong(String detail) {
        return new Verdict(Status.WRONG, detail, false, false);
    }

    /**
     * This verdict, on an input that held NaN or infinities or not.
     *
     * @param nonFiniteInput whether the input held NaN or infinities
     * @return a copy with {@link #nonFinite} set
     */
    public Verdict withNonFinite(boolean nonFiniteInput) {
        return new Verdict(status, detail, nonFiniteInput, weakEvidence);
    }

    /**
     * This verdict with {@code prefix} before its detail.
     *
     * @param prefix what the case adds, e.g. the tensor it tried
     * @return a copy with the longer detail
     */
    public Verdict withDetailPrefix(String prefix) {
        return new Verdict(status, prefix + detail, nonFinite, weakEvidence);
    }
}
