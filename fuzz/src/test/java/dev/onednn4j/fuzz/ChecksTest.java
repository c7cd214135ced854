package dev.onednn4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnnException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How results and refusals are judged. */
class ChecksTest {

    static final long[] SHAPE = {4};

    @Test
    void numbersMustAppearWhole() {
        assertTrue(Expected.contains("got pad: -3", "-3"));
        assertFalse(Expected.contains("got pad: -3", "3"));
        assertFalse(Expected.contains("got 13", "3"));
        assertFalse(Expected.contains("got 3.5", "3"));
        assertTrue(Expected.contains("input size: (1x3x5).", "3"));
        assertTrue(Expected.contains("kernel_size=(3, 3).", "3"));
        assertTrue(Expected.contains("expected 4D input (got 3D input)", "3"));
        assertTrue(Expected.values(0).missingFrom("stride should not be zero").isEmpty());
        assertEquals(List.of("7"), Expected.values(2, 7).missingFrom("groups=2, but 17 channels"));
        assertTrue(Expected.none()
                .value(Double.NaN)
                .missingFrom("eps must be positive, got eps=NaN")
                .isEmpty());
        assertTrue(Expected.none().value(-1e-5).missingFrom("got eps=-1.0E-5").isEmpty());
        assertTrue(Expected.none()
                .anyOf("read-only")
                .missingFrom("out is Read-Only")
                .isEmpty());
    }

    @Test
    void aRefusalMustBeAClearValidationException() {
        Expected e = Expected.values(-2);
        assertEquals(
                Status.PASS,
                Checks.refusal(new IllegalArgumentException("stride=(1, -2)"), e)
                        .status());
        assertEquals(
                Status.PASS,
                Checks.refusal(new IllegalStateException("-2 is closed"), e).status());
        assertEquals(
                Status.UNCLEAR,
                Checks.refusal(new IllegalArgumentException("bad stride"), e).status());
        assertEquals(
                Status.UNCLEAR,
                Checks.refusal(new ArithmeticException("-2 overflows"), e).status());
        assertEquals(
                Status.UNCLEAR,
                Checks.refusal(new ArrayIndexOutOfBoundsException(-2), e).status());
        assertEquals(Status.WRONG, Checks.refusal(null, e).status());
        assertEquals(Status.WRONG, Checks.refusal(new OutOfMemoryError("-2"), e).status());
        assertEquals(
                Status.WRONG,
                Checks.refusal(new OneDnnException(2, "invalid_arguments", "dnnl_convolution", "-2"), e)
                        .status());
    }

    @Test
    void finiteResultsUseTheLibrarysBound() {
        double[] exact = {1, -2, 3, 0.5};
        double[] bound = {1e-7, 1e-7, 1e-7, 1e-7};
        assertEquals(
                Status.PASS,
                Checks.compare("t", SHAPE, new float[] {1, -2, 3, 0.5f}, exact, bound, false)
                        .status());
        Verdict off = Checks.compare("t", SHAPE, new float[] {1, -2, 3.001f, 0.5f}, exact, bound, false);
        assertEquals(Status.WRONG, off.status());
        assertTrue(off.detail().contains("[2]: got 3.001"), off.detail());
        assertEquals(
                Status.WRONG,
                Checks.compare("t", SHAPE, new float[] {1, -2, Math.nextUp(3f), 0.5f}, exact, null, true)
                        .status(),
                "the exact tier wants the bits");
    }

    @Test
    void nonFiniteResultsMustMatchNaNForNaNAndTheSameInfinity() {
        double[] exact = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 2};
        double[] bound = {Double.NaN, Double.NaN, Double.NaN, 1e-7};
        float nan = Float.NaN;
        float inf = Float.POSITIVE_INFINITY;
        assertEquals(
                Status.PASS,
                Checks.compare("t", SHAPE, new float[] {nan, inf, -inf, 2}, exact, bound, false)
                        .status());
        assertEquals(
                Status.WRONG,
                Checks.compare("t", SHAPE, new float[] {0, inf, -inf, 2}, exact, bound, false)
                        .status());
        assertEquals(
                Status.WRONG,
                Checks.compare("t", SHAPE, new float[] {nan, -inf, -inf, 2}, exact, bound, false)
                        .status());
        assertEquals(
                Status.WRONG,
                Checks.compare("t", SHAPE, new float[] {nan, inf, -inf, nan}, exact, bound, false)
                        .status());
        Verdict v = Checks.compare("t", SHAPE, new float[] {nan, Float.MAX_VALUE, -inf, 2}, exact, bound, false);
        assertTrue(v.detail().contains("[1]: got 3.4028235E38, reference Infinity"), v.detail());
    }

    @Test
    void theReferenceBackendMustRoundOnce() {
        double[] exact = {0.1, Double.NaN};
        assertEquals(null, Checks.roundedOnce(new long[] {2}, new float[] {0.1f, Float.NaN}, exact));
        assertTrue(Checks.roundedOnce(new long[] {2}, new float[] {Math.nextUp(0.1f), Float.NaN}, exact)
                .contains("[0]"));
    }

    @Test
    void protocolFieldsSurviveTabsAndLineBreaks() {
        String line = Protocol.line("end", 3, "a\tb\nc\\d");
        assertFalse(line.contains("\n"));
        assertEquals(List.of("end", "3", "a\tb\nc\\d"), Protocol.parse(line));
        assertEquals(null, Protocol.parse("# SIGSEGV (0xb) at pc=0x0"));
    }
}
