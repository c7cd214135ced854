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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Every way a convolution, pooling or batch normalization call may run (the candidates layout choice by measurement
 * times: the caller's layouts read in place, oneDNN's, NHWC and channel blocks with reorders, several implementations
 * of each) gives the reference's answer within its rounding bound, for every pair of caller layouts. Convolutions
 * cover the families whose kernels differ: depthwise, 1x1, strided, dilated, grouped, a first layer with 3 channels,
 * one output column with a stride (where oneDNN 3.13's brgemm kernel is wrong and must not be a candidate), batch
 * above 1; pooling covers max and average with padding, a ceil-mode window whose divisor needs the correcting
 * post-op, and channels that fill no whole block. Which candidate wins depends on the machine, so each must be right.
 */
class LayoutCandidatesTest {
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

    /** max, n, c, h, w, k, stride, pad, ceil mode. */
    private static final int[][] POOLS = {
        {1, 1, 16, 12, 12, 3, 2, 1, 0}, // ResNet's max pool
        {0, 2, 20, 9, 9, 3, 2, 1, 1}, // average, count_include_pad, a ceil-mode window past the padding
        {0, 1, 8, 8, 8, 2, 2, 0, 0}, // average, no padding
    };

    /** n, c, h, w. */
    private static final int[][] NORMS = {{1, 16, 10, 10}, {2, 12, 7, 5}};

    private static final int PAIRS = FORMATS.length * FORMATS.length;
    private static final int CASES = (SHAPES.length + POOLS.length + NORMS.length) * PAIRS;

    @Test
    void everyCandidateMatchesTheReferenceForEveryPairOfLayouts() {
        expectAllOk(ChildJvm.run(LayoutCandidatesTest.class, CASES, List.of()));
    }

    /** The same under oneDNN's AVX2 kernels, whose implementation lists differ (this machine's ISA may be higher). */
    @Test
    void everyCandidateMatchesTheReferenceOnAvx2Kernels() {
        expectAllOk(ChildJvm.run(LayoutCandidatesTest.class, CASES, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2")));
    }

    private static void expectAllOk(ChildJvm.Report r) {
        assertTrue(r.crashes().isEmpty(), "crashed: " + r.crashes());
        assertEquals(CASES, r.outcomes().size(), r.outcomes().toString());
        assertTrue(r.failures().isEmpty(), r.failures().toString());
    }

    /** Child JVM: runs the cases (crash-safe: each candidate is new native code on the family's shapes). */
    public static void main(String[] args) {
        ChildJvm.serve(args, CASES, LayoutCandidatesTest::check);
    }

    /** Case {@code i}: one shape of one operation, one pair of caller layouts, every candidate. */
    static String check(int i) {
        int shape = i / PAIRS;
        Format in = FORMATS[i / FORMATS.length % FORMATS.length];
        Format outFormat = FORMATS[i % FORMATS.length];
        SplittableRandom r = new SplittableRandom(20 + i);
        if (shape < SHAPES.length) {
            return convolution(SHAPES[shape], in, outFormat, r);
        }
        shape -= SHAPES.length;
        if (shape < POOLS.length) {
            int[] s = POOLS[shape];
            PoolParams p = new PoolParams(s[0] == 1, s[5], s[5], s[6], s[6], s[7], s[7], 1, 1, s[8] == 1, true, 0);
            Pooling pool = new Pooling(p.resolve(s[1], s[2], s[3], s[4], new long[] {s[1], s[2], s[3], s[4]}), false);
            long[] shown = {s[1], s[2], s[3], s[4]};
            return everyCandidate(pool, shown, in, outFormat, r, (x, out) -> pool.candidates(x, out));
        }
        int[] s = NORMS[shape - POOLS.length];
        long[] shape4 = {s[0], s[1], s[2], s[3]};
        try (TensorImpl mean = TensorImpl.of(values(r, new long[] {s[1]}), s[1]);
                TensorImpl var = TensorImpl.of(positive(r, s[1]), s[1]);
                TensorImpl weight = TensorImpl.of(values(r, new long[] {s[1]}), s[1]);
                TensorImpl bias = TensorImpl.of(values(r, new long[] {s[1]}), s[1])) {
            BatchNorm norm = new BatchNorm(shape4, 1e-5, mean, var, weight, bias);
            return everyCandidate(norm, shape4, in, outFormat, r, (x, out) -> norm.candidates(x, out));
        }
    }

    private static String convolution(int[] s, Format in, Format outFormat, SplittableRandom r) {
        ConvParams p = new ConvParams(
                s[1], s[4], s[5], s[5], s[6], s[6], s[7], s[7], false, s[8], s[8], s[9], PadMode.ZEROS, true);
        ConvGeometry g = p.resolve(new long[] {s[0], s[1], s[2], s[3]});
        try (TensorImpl weight = TensorImpl.of(values(r, g.weightShape()), g.weightShape());
                TensorImpl bias = TensorImpl.of(values(r, new long[] {g.outC()}), g.outC())) {
            Convolution conv = new Convolution(g, weight, bias, false);
            return everyCandidate(conv, g.inputShape(), in, outFormat, r, (x, out) -> {
                List<PlanChoice.Candidate> candidates = conv.candidates(x, out);
                for (PlanChoice.Candidate c : candidates) {
                    if (conv.oneColumnStrided() && c.name().contains("brg_conv_fwd")) {
                        throw new AssertionError("a kernel known to be wrong here is a candidate: " + c.name());
                    }
                }
                return candidates;
            });
        }
    }

    /** Runs every candidate {@code op} offers for a call on an input of {@code shape} in {@code in}, into {@code outFormat}. */
    private static String everyCandidate(
            Operation op,
            long[] shape,
            Format in,
            Format outFormat,
            SplittableRandom r,
            BiFunction<TensorImpl, TensorImpl, List<PlanChoice.Candidate>> candidatesOf) {
        float[] x = values(r, shape);
        try (TensorImpl input = TensorImpl.of(x, in, shape);
                TensorImpl out = TensorImpl.zeros(outFormat, op.outputShape())) {
            String what = op.getClass().getSimpleName() + " " + Arrays.toString(shape) + " " + in + " -> " + outFormat;
            List<PlanChoice.Candidate> candidates;
            try {
                candidates = candidatesOf.apply(input, out);
            } catch (AssertionError e) {
                return what + ": " + e.getMessage();
            }
            if (candidates.size() < 2) {
                return what + ": no choice offered: " + names(candidates);
            }
            if (new HashSet<>(names(candidates)).size() != candidates.size()) {
                return what + ": a candidate twice: " + names(candidates);
            }
            for (PlanChoice.Candidate c : candidates) {
                Plan plan = c.plan().get();
                try {
                    plan.run(input, out);
                } finally {
                    plan.release();
                }
                CrossCheck.Result result = CrossCheck.operation(what + " by " + c.name(), op, x, out.toFloatArray());
                if (!result.passed()) {
                    return result.report();
                }
            }
            return "ok";
        }
    }

    private static float[] positive(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(0.5, 2);
        }
        return v;
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
