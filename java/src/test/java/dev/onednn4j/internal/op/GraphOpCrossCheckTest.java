package dev.onednn4j.internal.op;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Every {@link GraphOp} on oneDNN against its own reference loops, on random shapes and values (seeded), within a
 * stated bound per element: exact operations (copies, concatenation, min, max, reductions to a maximum) to the last
 * bit; one IEEE rounding ({@code +, -, *}) within {@code u * |exact|}; division, which oneDNN may compute as a
 * multiplication by the reciprocal, within {@code 2u}; sums within Higham's {@code gamma(n) * sum |terms|} (matmul,
 * sum and mean, transposed convolution); softmax, layer normalization and bilinear resampling, whose kernels
 * approximate exp and reorder their arithmetic, within benchdnn's style of relative threshold, {@code 1e-5} of the
 * output's scale. Inputs come in contiguous and channels-last layouts where they are 4-D.
 */
class GraphOpCrossCheckTest {
    static final SplittableRandom RNG = new SplittableRandom(2026);

    static long[] shape(int rank) {
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) {
            s[i] = 1L + RNG.nextInt(6);
        }
        return s;
    }

    static float[] values(long[] shape) {
        float[] v = new float[Nd.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) RNG.nextDouble(-2, 2);
        }
        return v;
    }

    /**
     * Runs {@code op} on oneDNN on {@code inputs} (laid out in {@code format} where 4-D) and checks each element
     * against the reference: {@code |y - exact| <= bound(i, exact)}.
     */
    static void check(GraphOp op, List<float[]> inputs, Format format, BiFunction<Integer, double[], Double> bound) {
        List<long[]> shapes = op.inputShapes();
        TensorImpl[] t = new TensorImpl[shapes.size() + 1];
        try {
            double[][] in = new double[inputs.size()][];
            for (int i = 0; i < shapes.size(); i++) {
                long[] s = shapes.get(i);
                t[i] = TensorImpl.of(inputs.get(i), s.length == 4 ? format : Format.CONTIGUOUS, s);
                in[i] = new double[inputs.get(i).length];
                for (int k = 0; k < in[i].length; k++) {
                    in[i][k] = inputs.get(i)[k];
                }
            }
            long[] out = op.outputShape();
            t[shapes.size()] = TensorImpl.zeros(out.length == 4 ? format : Format.CONTIGUOUS, out);
            Plan p = op.plan(t);
            try {
                p.run(t);
            } finally {
                p.release();
            }
            double[] exact = op.exact(in);
            float[] got = t[shapes.size()].toFloatArray();
            assertArrayEquals(out, t[shapes.size()].shape());
            for (int i = 0; i < got.length; i++) {
                double b = bound.apply(i, exact);
                assertTrue(
                        Math.abs(got[i] - exact[i]) <= b,
                        String.format(
                                Locale.ROOT,
                                "%s %s element %d: oneDNN %s, exact %s, bound %.3g",
                                op.name(),
                                format,
                                i,
                                got[i],
                                exact[i],
                                b));
            }
        } finally {
            for (TensorImpl x : t) {
                if (x != null) {
                    x.close();
                }
            }
        }
    }

    static final double U = RoundingBound.U;

    static BiFunction<Integer, double[], Double> exactBits() {
        return (i, e) -> 0.0;
    }

    static BiFunction<Integer, double[], Double> ulps(double n) {
        return (i, e) -> n * U * Math.abs(e[i]);
    }

    static BiFunction<Integer, double[], Double> relative(double r) {
        return (i, e) -> r * Arrays.stream(e).map(Math::abs).max().orElse(0) + 1e-30;
    }

    @Test
    void binaryWithBroadcasting() {
        for (BinaryOp.Kind kind : BinaryOp.Kind.values()) {
            for (int round = 0; round < 6; round++) {
                long[] a = shape(round % 2 == 0 ? 4 : 3);
                long[] b = a.clone();
                for (int d = 0; d < b.length; d++) {
                    if (RNG.nextBoolean()) {
                        b[d] = 1;
                    }
                }
                if (round == 5) {
                    b = Arrays.copyOfRange(b, 1, b.length); // lower rank
                }
                boolean constant = round % 3 == 0;
                float[] bv = values(b);
                if (kind == BinaryOp.Kind.DIV) {
                    for (int i = 0; i < bv.length; i++) {
                        bv[i] = bv[i] >= 0 ? bv[i] + 0.5f : bv[i] - 0.5f;
                    }
                }
                BiFunction<Integer, double[], Double> bound = kind == BinaryOp.Kind.MIN || kind == BinaryOp.Kind.MAX
                        ? exactBits()
                        : ulps(kind == BinaryOp.Kind.DIV ? 2 : 1);
                try (TensorImpl k = constant ? TensorImpl.of(bv, b) : null) {
                    BinaryOp op = new BinaryOp(kind, a, b, k);
                    List<float[]> in = constant ? List.of(values(a)) : List.of(values(a), bv);
                    for (Format f : Format.values()) {
                        check(op, in, f, bound);
                    }
                }
            }
        }
    }

    /**
     * A broadcast oneDNN has only its reference loops for, as its dims stand (Swin's attention mask, {@code [1, nW,
     * 1, N, N]} added to {@code [B, nW, heads, N, N]}): read with unit dimensions dropped and neighbours merged, and
     * a constant operand written out along the heads where merging alone is not enough (B > 1). The plan runs a
     * vectorized kernel and agrees with the reference as every binary does. A computed operand cannot be written out:
     * with B > 1 it may keep oneDNN's reference loops; the result is checked all the same.
     */
    @Test
    void maskLikeBroadcastsRunOnAVectorizedKernel() {
        long[] mask = {1, 8, 1, 7, 7};
        for (long batch : new long[] {1, 4}) {
            long[] a = {batch, 8, 3, 7, 7};
            for (boolean constant : new boolean[] {true, false}) {
                float[] bv = values(mask);
                try (TensorImpl k = constant ? TensorImpl.of(bv, mask) : null) {
                    BinaryOp op = new BinaryOp(BinaryOp.Kind.ADD, a, mask, k);
                    if (constant) {
                        long[] expected = batch == 1 ? mask : new long[] {1, 8, 3, 7, 7};
                        assertArrayEquals(expected, op.operand(), "the constant as the primitive reads it");
                    }
                    List<float[]> in = constant ? List.of(values(a)) : List.of(values(a), bv);
                    check(op, in, Format.CONTIGUOUS, ulps(1));
                    if (constant || batch == 1) {
                        String impl = implementation(op);
                        assertFalse(
                                impl.startsWith("ref"),
                                Arrays.toString(a) + " + " + Arrays.toString(mask) + (constant ? " constant" : "")
                                        + " ran on " + impl);
                    }
                }
            }
        }
        long[][] merged = BinaryOp.merge(new long[] {1, 64, 3, 49, 49}, new long[] {1, 64, 1, 49, 49});
        assertArrayEquals(new long[] {64, 3, 2401}, merged[0]);
        assertArrayEquals(new long[] {64, 1, 2401}, merged[1]);
    }

    /** The implementation of {@code op}'s plan on contiguous tensors. */
    static String implementation(GraphOp op) {
        List<long[]> shapes = op.inputShapes();
        TensorImpl[] t = new TensorImpl[shapes.size() + 1];
        try {
            for (int i = 0; i < shapes.size(); i++) {
                t[i] = TensorImpl.zeros(Format.CONTIGUOUS, shapes.get(i));
            }
            t[shapes.size()] = TensorImpl.zeros(Format.CONTIGUOUS, op.outputShape());
            Plan p = op.plan(t);
            try {
                return p.implementation();
            } finally {
                p.release();
            }
        } finally {
            for (TensorImpl x : t) {
                x.close();
            }
        }
    }

    /**
     * QuantizeLinear and DequantizeLinear (one scale and zero point, uint8 and int8): dequantizing is one rounding on
     * both sides, exact to the last bit; quantizing is exact except where the quotient {@code x / scale} lies within
     * a rounding of a half-way point, where oneDNN's division (possibly a multiplication by the reciprocal) may round
     * to the neighbouring integer: one unit there, and only there. The inputs include exact half-way points,
     * saturation at both ends and zero.
     */
    @Test
    void quantizeRoundsHalfWayPointsToEven() {
        QuantizeLinearOp q = QuantizeLinearOp.quantize(1f / 64, 0, -128, 127, new long[] {6});
        double[] got = q.exact(new double[][] {{2.5 / 64, 3.5 / 64, -2.5 / 64, -3.5 / 64, 1000, Double.NaN}});
        assertArrayEquals(new double[] {2, 4, -2, -4, 127, 127}, got, 0);
    }

    @Test
    void quantizeAndDequantize() {
        int[][] types = {{0, 255}, {-128, 127}};
        for (int round = 0; round < 8; round++) {
            long[] s = shape(round % 2 == 0 ? 4 : 2);
            int[] t = types[round % 2];
            float scale = (float) RNG.nextDouble(0.002, 0.1);
            int zero = t[0] + RNG.nextInt(t[1] - t[0] + 1);
            float[] x = new float[Nd.numel(s)];
            for (int i = 0; i < x.length; i++) {
                double units = switch (i % 4) {
                    case 0 -> RNG.nextInt(-300, 300) + 0.5; // a half-way point (as near as float32 gets)
                    case 1 -> RNG.nextDouble(-400, 400); // beyond the range too: saturation
                    case 2 -> 0;
                    default -> RNG.nextDouble(-60, 60);
                };
                x[i] = (float) (units * scale);
            }
            QuantizeLinearOp q = QuantizeLinearOp.quantize(scale, zero, t[0], t[1], s);
            for (Format f : Format.values()) {
                check(q, List.of(x), f, (i, e) -> {
                    double quotient = (double) x[i] / scale;
                    double fromHalf = Math.abs(quotient - Math.floor(quotient) - 0.5);
                    return fromHalf <= 4 * U * Math.abs(quotient) ? 1.0 : 0.0;
                });
            }
            float[] ints = new float[x.length];
            for (int i = 0; i < ints.length; i++) {
                ints[i] = t[0] + RNG.nextInt(t[1] - t[0] + 1);
            }
            // exact half-way points on a power-of-two scale (the quotient is exact): rounded half to even, exactly
            float[] halves = new float[x.length];
            for (int i = 0; i < halves.length; i++) {
                halves[i] = (RNG.nextInt(-200, 200) + 0.5f) / 64;
            }
            QuantizeLinearOp even = QuantizeLinearOp.quantize(1f / 64, zero, t[0], t[1], s);
            for (Format f : Format.values()) {
                check(even, List.of(halves), f, exactBits());
            }
            QuantizeLinearOp dq = QuantizeLinearOp.dequantize(scale, zero, t[0], t[1], s);
            for (Format f : Format.values()) {
                check(dq, List.of(ints), f, exactBits());
            }
        }
    }

    @Test
    void concatenationWithConstantParts() {
        for (int round = 0; round < 8; round++) {
            long[] base = shape(4);
            int axis = RNG.nextInt(4);
            int n = 2 + RNG.nextInt(3);
            List<long[]> parts = new ArrayList<>();
            TensorImpl[] consts = new TensorImpl[n];
            List<float[]> in = new ArrayList<>();
            try {
                for (int k = 0; k < n; k++) {
                    long[] s = base.clone();
                    s[axis] = 1L + RNG.nextInt(4);
                    parts.add(s);
                    if (k == 1 && round % 2 == 0) {
                        consts[k] = TensorImpl.of(values(s), s);
                    } else {
                        in.add(values(s));
                    }
                }
                ConcatOp op = new ConcatOp(axis, parts, consts);
                for (Format f : Format.values()) {
                    check(op, in, f, exactBits());
                }
            } finally {
                for (TensorImpl c : consts) {
                    if (c != null) {
                        c.close();
                    }
                }
            }
        }
    }

    @Test
    void copiesOfPermutedAndSlicedViews() {
        for (int round = 0; round < 10; round++) {
            long[] s = shape(2 + RNG.nextInt(3));
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < s.length; i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, new java.util.Random(round));
            int[] perm = order.stream().mapToInt(Integer::intValue).toArray();
            check(CopyOp.permute(s, perm), List.of(values(s)), Format.CONTIGUOUS, exactBits());
            long[] start = new long[s.length];
            long[] size = new long[s.length];
            long[] steps = new long[s.length];
            long[] big = s.clone();
            for (int d = 0; d < s.length; d++) {
                start[d] = RNG.nextInt((int) s[d]);
                size[d] = 1L + RNG.nextInt((int) (s[d] - start[d]));
                steps[d] = 1L + RNG.nextInt(2);
                big[d] = s[d] * steps[d];
            }
            check(CopyOp.block(s, start, size), List.of(values(s)), Format.CONTIGUOUS, exactBits());
            long[] first = new long[s.length];
            long[] count = new long[s.length];
            for (int d = 0; d < s.length; d++) {
                first[d] = RNG.nextInt((int) steps[d]);
                count[d] = 1L + RNG.nextInt((int) s[d]);
            }
            CopyOp stepped = CopyOp.strided(big, first, count, steps);
            check(stepped, List.of(values(big)), Format.CONTIGUOUS, exactBits());
        }
    }

    @Test
    void matmulWithBroadcastBatches() {
        for (int round = 0; round < 8; round++) {
            long m = 1L + RNG.nextInt(9);
            long k = 1L + RNG.nextInt(40);
            long n = 1L + RNG.nextInt(9);
            long[] a = {1L + RNG.nextInt(3), round % 2 == 0 ? 1 : 2, m, k};
            long[] b = {round % 3 == 0 ? 1 : a[0], 2, k, n};
            if (round == 7) {
                b = new long[] {k, n};
            }
            MatMulOp op = new MatMulOp(a, b);
            float[] av = values(a);
            float[] bv = values(b);
            long[] bb = op.inputShapes().get(1);
            // gamma(k) * sum |a * b| per output element, from the inputs' magnitudes
            double[] absA = new double[av.length];
            double[] absB = new double[bv.length];
            for (int i = 0; i < av.length; i++) {
                absA[i] = Math.abs(av[i]);
            }
            for (int i = 0; i < bv.length; i++) {
                absB[i] = Math.abs(bv[i]);
            }
            double[] magnitude = op.exact(new double[][] {absA, absB});
            check(
                    op,
                    List.of(av, bv),
                    Format.CONTIGUOUS,
                    (i, e) -> RoundingBound.gamma(k) * magnitude[i] + Math.ulp((float) e[i]));
            assertTrue(bb.length == 4);
        }
    }

    @Test
    void reductions() {
        for (ReduceOp.Kind kind : ReduceOp.Kind.values()) {
            for (int round = 0; round < 5; round++) {
                long[] s = shape(4);
                long[] out = s.clone();
                for (int d = 0; d < 4; d++) {
                    if (RNG.nextBoolean() || d == round % 4) {
                        out[d] = 1;
                    }
                }
                ReduceOp op = new ReduceOp(kind, s, out);
                float[] v = values(s);
                long terms = Nd.numel(s) / Nd.numel(out);
                double[] abs = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    abs[i] = Math.abs(v[i]);
                }
                double[] magnitude = new ReduceOp(
                                kind == ReduceOp.Kind.MEAN ? ReduceOp.Kind.MEAN : ReduceOp.Kind.SUM, s, out)
                        .exact(new double[][] {abs});
                BiFunction<Integer, double[], Double> bound = kind == ReduceOp.Kind.MAX || kind == ReduceOp.Kind.MIN
                        ? exactBits()
                        : (i, e) -> RoundingBound.gamma(terms + 1) * magnitude[i] + Math.ulp((float) e[i]);
                for (Format f : Format.values()) {
                    check(op, List.of(v), f, bound);
                }
            }
        }
    }

    @Test
    void softmaxLayerNormResampleDeconvolutionAndFunctions() {
        for (int round = 0; round < 6; round++) {
            long[] s = shape(round % 2 == 0 ? 4 : 3);
            int axis = RNG.nextInt(s.length);
            check(new SoftmaxOp(s, axis), List.of(values(s)), Format.CONTIGUOUS, relative(1e-5));
            long c = s[s.length - 1];
            try (TensorImpl g = TensorImpl.of(values(new long[] {c}), c);
                    TensorImpl b = TensorImpl.of(values(new long[] {c}), c)) {
                check(
                        new LayerNormOp(s, 1e-5f, g, round % 2 == 0 ? b : null),
                        List.of(values(s)),
                        Format.CONTIGUOUS,
                        relative(1e-5));
            }
            long[] img = shape(4);
            long[] up = {img[0], img[1], img[2] * (1L + round % 3), img[3] * 2};
            for (Format f : Format.values()) {
                check(new ResampleOp(img, up), List.of(values(img)), f, relative(1e-5));
            }
            int groups = 1 + round % 2;
            long[] x = {1L + RNG.nextInt(2), 2L * groups, 3L + RNG.nextInt(3), 3L + RNG.nextInt(3)};
            int outPerGroup = 1 + RNG.nextInt(3);
            int k = 1 + RNG.nextInt(3);
            long stride = 1L + RNG.nextInt(2);
            float[] w = values(new long[] {x[1], outPerGroup, k, k});
            float[] bias = values(new long[] {(long) outPerGroup * groups});
            DeconvOp d = new DeconvOp(
                    x,
                    w,
                    outPerGroup,
                    k,
                    k,
                    groups,
                    bias,
                    new long[] {stride, stride},
                    new long[] {1, 1},
                    new long[] {0, 0},
                    new long[] {0, 0},
                    new long[] {0, 0});
            long terms = x[1] / groups * k * k + 1;
            for (Format f : Format.values()) {
                check(
                        d,
                        List.of(values(x)),
                        f,
                        (i, e) -> RoundingBound.gamma(terms) * 4 * 2 * terms + Math.ulp((float) e[i]));
            }
        }
        long[] s = shape(4);
        float[] v = values(s);
        check(new UnaryOp(UnaryOp.Kind.LINEAR, -1.5f, 0.25f, s), List.of(v), Format.CHANNELS_LAST, ulps(2));
        check(new UnaryOp(UnaryOp.Kind.ABS, 0, 0, s), List.of(v), Format.CONTIGUOUS, exactBits());
        check(new UnaryOp(UnaryOp.Kind.CLIP, -1, 0.5f, s), List.of(v), Format.CONTIGUOUS, exactBits());
        check(new UnaryOp(UnaryOp.Kind.EXP, 0, 0, s), List.of(v), Format.CONTIGUOUS, ulps(4 / U * 4e-6));
        float[] positive = v.clone();
        for (int i = 0; i < positive.length; i++) {
            positive[i] = Math.abs(positive[i]) + 0.1f;
        }
        check(new UnaryOp(UnaryOp.Kind.SQRT, 0, 0, s), List.of(positive), Format.CONTIGUOUS, ulps(1));
        check(new UnaryOp(UnaryOp.Kind.POW, 1, 2, s), List.of(v), Format.CONTIGUOUS, ulps(4 / U * 4e-6));
    }
}
