package dev.onednn4j.internal.op;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.exec.PlanChoice;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.testing.ChildJvm;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every way a convolution call may run (the candidates layout choice by measurement times: the caller's layouts read
 * in place, oneDNN's with reorders, several implementations of each) gives the reference's answer within its rounding
 * bound, for every pair of caller layouts and the families whose kernels differ: depthwise, 1x1, strided, dilated,
 * grouped, a first layer with 3 channels, one output column with a stride (where oneDNN 3.13's brgemm kernel is
 * wrong and must not be a candidate), batch above 1. Which candidate wins depends on the machine, so each must be right.
 */
class ConvolutionCandidatesTest {
    private static final Format[] FORMATS = {Format.CONTIGUOUS, Format.CHANNELS_LAST};

    /** n, c, h, w, outC, k, stride, pad, dilation, groups. */
    private static final int[][] SHAPES = {
        {1, 16, 12, 12, 16, 3, 1, 1, 1, 16}, // depthwise
        {1, 32, 9, 9, 24, 1, 1, 0, 1, 1}, // 1x1
        {2, 8, 11, 11, 12, 3, 2, 1, 1, 1}, // strided, batch 2
        {1, 8, 10, 10, 8, 3, 1, 2, 2, 1}, // dilated
        {1, 12, 7, 7, 18, 3, 1, 1, 1, 3}, // grouped
        {1, 3, 20, 20, 16, 7, 2, 3, 1, 1}, // a first layer
        {1, 4, 5, 4, 4, 3, 2, 0, 1, 1}, // one output column, W stride 2 (over a slack of 1)
    };

    private static final int CASES = SHAPES.length * FORMATS.length * FORMATS.length;

    @Test
    void everyCandidateMatchesTheReferenceForEveryPairOfLayouts() {
        expectAllOk(ChildJvm.run(ConvolutionCandidatesTest.class, CASES, List.of()));
    }

    /** The same under oneDNN's AVX2 kernels, whose implementation lists differ (this machine's ISA may be higher). */
    @Test
    void everyCandidateMatchesTheReferenceOnAvx2Kernels() {
        expectAllOk(
                ChildJvm.run(ConvolutionCandidatesTest.class, CASES, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2")));
    }

    private static void expectAllOk(ChildJvm.Report r) {
        assertTrue(r.crashes().isEmpty(), "crashed: " + r.crashes());
        assertEquals(CASES, r.outcomes().size(), r.outcomes().toString());
        assertTrue(r.failures().isEmpty(), r.failures().toString());
    }

    /** Child JVM: runs the cases (crash-safe: each candidate is new native code on the family's shapes). */
    public static void main(String[] args) {
        ChildJvm.serve(args, CASES, ConvolutionCandidatesTest::check);
    }

    /** Case {@code i}: one shape, one pair of caller layouts, every candidate. */
    static String check(int i) {
        int[] s = SHAPES[i / (FORMATS.length * FORMATS.length)];
        Format in = FORMATS[i / FORMATS.length % FORMATS.length];
        Format outFormat = FORMATS[i % FORMATS.length];
        SplittableRandom r = new SplittableRandom(20 + i);
        ConvParams p = new ConvParams(
                s[1], s[4], s[5], s[5], s[6], s[6], s[7], s[7], false, s[8], s[8], s[9], PadMode.ZEROS, true);
        ConvGeometry g = p.resolve(new long[] {s[0], s[1], s[2], s[3]});
        float[] w = values(r, g.weightShape());
        float[] b = values(r, new long[] {g.outC()});
        float[] x = values(r, g.inputShape());
        try (TensorImpl weight = TensorImpl.of(w, g.weightShape());
                TensorImpl bias = TensorImpl.of(b, g.outC());
                TensorImpl input = TensorImpl.of(x, in, g.inputShape());
                TensorImpl out = TensorImpl.zeros(outFormat, g.outputShape())) {
            Convolution conv = new Convolution(g, weight, bias, false);
            List<PlanChoice.Candidate> candidates = conv.candidates(input, out);
            String what = g + " " + in + " -> " + outFormat;
            if (candidates.size() < 2) {
                return what + ": no choice offered: " + names(candidates);
            }
            if (new HashSet<>(names(candidates)).size() != candidates.size()) {
                return what + ": a candidate twice: " + names(candidates);
            }
            for (PlanChoice.Candidate c : candidates) {
                if (conv.oneColumnStrided() && c.name().contains("brg_conv_fwd")) {
                    return what + ": a kernel known to be wrong here is a candidate: " + c.name();
                }
                Plan plan = c.plan().get();
                try {
                    plan.run(input, out);
                } finally {
                    plan.release();
                }
                CrossCheck.Result result = CrossCheck.operation(what + " by " + c.name(), conv, x, out.toFloatArray());
                if (!result.passed()) {
                    return result.report();
                }
            }
            return "ok";
        }
    }

    private static List<String> names(List<PlanChoice.Candidate> candidates) {
        List<String> names = new ArrayList<>();
        for (PlanChoice.Candidate c : candidates) {
            names.add(c.name());
        }
        return names;
    }

    private static float[] values(SplittableRandom r, long[] shape) {
        float[] v = new float[Nd.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return v;
    }
}
