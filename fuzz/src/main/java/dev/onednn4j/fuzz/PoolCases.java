package dev.onednn4j.fuzz;

import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.AvgPool2d;
import dev.onednn4j.nn.MaxPool2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * MaxPool2d (kernel, stride or its default, padding up to half the kernel, dilation, ceil mode), AvgPool2d (the same
 * without dilation, count_include_pad, divisor_override) and AdaptiveAvgPool2d (any output size, None) cases, on
 * small inputs, batched, empty or unbatched.
 */
final class PoolCases {
    private PoolCases() {}

    /**
     * A MaxPool2d's or AvgPool2d's arguments.
     *
     * @param max      MaxPool2d, else AvgPool2d
     * @param strideGiven false for the default stride (the kernel size)
     * @param dH       dilation (MaxPool2d only; 1 for AvgPool2d)
     * @param divisor  AvgPool2d's divisor_override, null for none
     */
    record Spec(
            boolean max,
            int kH,
            int kW,
            boolean strideGiven,
            int sH,
            int sW,
            int pH,
            int pW,
            int dH,
            int dW,
            boolean ceil,
            boolean countIncludePad,
            Integer divisor)
            implements LayerSpec {

        @Override
        public String layer() {
            return max ? "MaxPool2d" : "AvgPool2d";
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            if (max) {
                MaxPool2d.Builder b = MaxPool2d.builder(kH, kW)
                        .padding(pH, pW)
                        .dilation(dH, dW)
                        .ceilMode(ceil);
                return (strideGiven ? b.stride(sH, sW) : b).build();
            }
            AvgPool2d.Builder b =
                    AvgPool2d.builder(kH, kW).padding(pH, pW).ceilMode(ceil).countIncludePad(countIncludePad);
            if (strideGiven) {
                b.stride(sH, sW);
            }
            if (divisor != null) {
                b.divisorOverride(divisor);
            }
            return b.build();
        }

        int strideH() {
            return strideGiven ? sH : kH;
        }

        int strideW() {
            return strideGiven ? sW : kW;
        }

        long effH() {
            return (long) dH * (kH - 1) + 1;
        }

        long effW() {
            return (long) dW * (kW - 1) + 1;
        }

        /** The smallest input size with an output (in floor mode; ceil mode never gives less). */
        long minH() {
            return Math.max(1, effH() - 2L * pH);
        }

        long minW() {
            return Math.max(1, effW() - 2L * pW);
        }

        Spec with(int newKH, int newKW, boolean given, int newSH, int newSW, int newPH, int newPW) {
            return new Spec(
                    max, newKH, newKW, given, newSH, newSW, newPH, newPW, dH, dW, ceil, countIncludePad, divisor);
        }

        Spec withDilation(int h, int w) {
            return new Spec(max, kH, kW, strideGiven, sH, sW, pH, pW, h, w, ceil, countIncludePad, divisor);
        }

        Spec withCeil(boolean c) {
            return new Spec(max, kH, kW, strideGiven, sH, sW, pH, pW, dH, dW, c, countIncludePad, divisor);
        }

        Spec withDivisor(Integer d) {
            return new Spec(max, kH, kW, strideGiven, sH, sW, pH, pW, dH, dW, ceil, countIncludePad, d);
        }

        @Override
        public String toString() {
            String stride = strideGiven ? "(" + sH + ", " + sW + ")" : "None";
            String common = String.format(
                    Locale.ROOT, "kernel_size=(%d, %d), stride=%s, padding=(%d, %d)", kH, kW, stride, pH, pW);
            if (max) {
                return String.format(
                        Locale.ROOT,
                        "MaxPool2d(%s, dilation=(%d, %d), ceil_mode=%s)",
                        common,
                        dH,
                        dW,
                        ceil ? "True" : "False");
            }
            return String.format(
                    Locale.ROOT,
                    "AvgPool2d(%s, ceil_mode=%s, count_include_pad=%s, divisor_override=%s)",
                    common,
                    ceil ? "True" : "False",
                    countIncludePad ? "True" : "False",
                    divisor == null ? "None" : divisor.toString());
        }
    }

    /**
     * An AdaptiveAvgPool2d's output size; null is PyTorch's None (the input's size).
     *
     * @param square built as {@code AdaptiveAvgPool2d(size)}
     */
    record AdaptiveSpec(Integer outH, Integer outW, boolean square) implements LayerSpec {
        @Override
        public String layer() {
            return "AdaptiveAvgPool2d";
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            if (square) {
                return new AdaptiveAvgPool2d(outH);
            }
            if (outH == null || outW == null) {
                return new AdaptiveAvgPool2d(outH, outW);
            }
            return new AdaptiveAvgPool2d(outH.intValue(), outW.intValue());
        }

        @Override
        public String toString() {
            return "AdaptiveAvgPool2d(output_size="
                    + (square
                            ? outH
                            : "(" + (outH == null ? "None" : outH) + ", " + (outW == null ? "None" : outW) + ")")
                    + ")";
        }
    }

    static int poolStride(Gen g, int k) {
        double x = g.r.nextDouble();
        if (x < 0.8) {
            return g.between(1, k + 2);
        }
        if (x < 0.95) {
            return g.between(k + 3, k + 12);
        }
        return Integer.MAX_VALUE;
    }

    static Spec validSpec(Gen g, boolean max) {
        int kH = g.kernel();
        int kW = g.chance(0.6) ? kH : g.kernel();
        boolean given = g.chance(0.7);
        int sH = given ? poolStride(g, kH) : kH;
        int sW = given ? (g.chance(0.5) ? sH : poolStride(g, kW)) : kW;
        int pH = g.between(0, kH / 2);
        int pW = g.chance(0.5) ? Math.min(pH, kW / 2) : g.between(0, kW / 2);
        int dH = max && g.chance(0.35) ? g.between(2, 3) : 1;
        int dW = max && g.chance(0.35) ? g.between(2, 3) : 1;
        Integer divisor = !max && g.chance(0.15) ? g.between(1, 10) : null;
        return new Spec(max, kH, kW, given, sH, sW, pH, pW, dH, dW, g.chance(0.4), g.chance(0.6), divisor);
    }

    /** (N, C, H, W) or, unbatched, (C, H, W) with at least {@code minH} x {@code minW} pixels. */
    static Input input(Gen g, long minH, long minW, double unbatched) {
        int c = g.chance(0.85) ? g.between(1, 8) : g.pick(List.of(16, 32));
        long h = Math.max(g.spatial(), minH);
        long w = Math.max(g.spatial(), minW);
        if (g.chance(unbatched)) {
            return new Input(new long[] {c, h, w}, MemoryFormat.CONTIGUOUS, Data.random(g, 4));
        }
        MemoryFormat f = g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        return new Input(new long[] {g.batch(), c, h, w}, f, Data.random(g, 4));
    }

    static Made valid(Gen g, boolean max) {
        Spec s = validSpec(g, max);
        Input in = input(g, s.minH(), s.minW(), 0.15);
        return Made.valid(s, in, Call.random(g, in.rank(), true), g.nextLong());
    }

    static Made validAdaptive(Gen g) {
        boolean square = g.chance(0.3);
        Integer oh = g.chance(0.1) && !square ? null : size(g);
        Integer ow = square ? oh : g.chance(0.1) ? null : size(g);
        AdaptiveSpec s = new AdaptiveSpec(oh, ow, square);
        Input in = input(g, 1, 1, 0.15);
        return Made.valid(s, in, Call.random(g, in.rank(), true), g.nextLong());
    }

    private static int size(Gen g) {
        return g.chance(0.9) ? g.between(1, 8) : g.between(9, 20);
    }

    static Made invalid(Gen g, boolean max) {
        Spec s = validSpec(g, max).withCeil(false);
        Input in = input(g, s.minH(), s.minW(), 0);
        long[] shape = in.shape();
        long h = shape[2];
        int kind = g.between(0, 14);
        return switch (kind) {
            case 0 -> {
                int v = g.pick(List.of(0, -1, -4));
                yield built(s.with(v, s.kW(), s.strideGiven(), s.sH(), s.sW(), 0, 0), "kernel_size " + v, v);
            }
            case 1 -> built(s.with(s.kH(), s.kW(), true, 0, 1, s.pH(), s.pW()), "stride 0", 0);
            case 2 -> {
                int v = g.pick(List.of(-1, -2, Integer.MIN_VALUE));
                yield built(s.with(s.kH(), s.kW(), true, 1, v, s.pH(), s.pW()), "stride " + v, v);
            }
            case 3 -> {
                int v = g.pick(List.of(-1, -3));
                yield built(s.with(s.kH(), s.kW(), s.strideGiven(), s.sH(), s.sW(), v, 0), "padding " + v, v);
            }
            case 4 -> {
                int k = s.kH();
                int pad = k / 2 + g.between(1, 2);
                yield built(
                        s.with(k, s.kW(), s.strideGiven(), s.sH(), s.sW(), pad, 0),
                        "padding above half the kernel",
                        pad,
                        k);
            }
            case 5 -> {
                if (max) {
                    int v = g.pick(List.of(0, -1));
                    yield built(s.withDilation(s.dH(), v), "dilation " + v, v);
                }
                int v = g.pick(List.of(0, -1, -6));
                yield built(s.withDivisor(v), "divisor_override " + v, v);
            }
            case 6 -> {
                // too small for even one window (floor mode)
                Spec t = s.with(Math.max(2, s.kH()), s.kW(), s.strideGiven(), s.sH(), s.sW(), 0, s.pW());
                long rows = g.between(1, (int) (t.effH() - 1));
                yield forward(
                        t, in.withShape(shape[0], shape[1], rows, shape[3]), "input smaller than the window", rows);
            }
            case 7 -> {
                long[] bad = g.chance(0.5) ? new long[] {shape[2], shape[3]} : new long[] {1, shape[0], shape[1], h, 2};
                yield forward(s, in.withShape(bad), bad.length + "-D input", bad);
            }
            case 8 -> {
                long[] bad = shape.clone();
                bad[g.between(1, 3)] = 0;
                yield forward(s, in.withShape(bad), "an empty channel or spatial dimension", 0);
            }
            case 9 -> {
                Spec t = s.with(Integer.MAX_VALUE, s.kW(), false, 0, 0, 0, s.pW());
                yield forward(t, in, "kernel_size 2147483647", h);
            }
            case 10 ->
                built(
                        s.with(s.kH(), s.kW(), s.strideGiven(), s.sH(), s.sW(), Integer.MAX_VALUE, 0),
                        "padding 2147483647",
                        Integer.MAX_VALUE,
                        s.kH());
            case 11 -> {
                if (max) {
                    Spec t = s.with(Math.max(2, s.kH()), s.kW(), s.strideGiven(), s.sH(), s.sW(), 0, s.pW())
                            .withDilation(Integer.MAX_VALUE, s.dW());
                    yield forward(t, in, "dilation 2147483647", h);
                }
                yield forward(s, in.withShape(shape[1], h, 0), "an empty width, unbatched", 0);
            }
            default -> Misuse.random(g, s, in, false);
        };
    }

    static Made invalidAdaptive(Gen g) {
        Input in = input(g, 1, 1, 0);
        long[] shape = in.shape();
        AdaptiveSpec s = new AdaptiveSpec(g.between(1, 4), g.between(1, 4), false);
        int kind = g.between(0, 6);
        return switch (kind) {
            case 0 -> {
                int v = g.pick(List.of(0, -1, -3));
                boolean square = g.chance(0.5);
                AdaptiveSpec t = new AdaptiveSpec(v, square ? v : g.between(1, 3), square);
                yield Made.invalid(
                        t.layer(),
                        "output size " + v,
                        t.toString(),
                        Expected.values(v),
                        () -> t.build(null, false).close());
            }
            case 1 -> {
                long[] bad = g.chance(0.5) ? new long[] {shape[2], shape[3]} : new long[] {1, shape[0], shape[1], 2, 2};
                yield adaptiveForward(s, in.withShape(bad), bad.length + "-D input", Expected.values(bad));
            }
            case 2 -> {
                long[] bad = shape.clone();
                bad[g.between(1, 3)] = 0;
                yield adaptiveForward(
                        s, in.withShape(bad), "an empty channel or spatial dimension", Expected.values(0));
            }
            case 3 -> {
                AdaptiveSpec t = new AdaptiveSpec(Integer.MAX_VALUE, Integer.MAX_VALUE, false);
                yield adaptiveForward(
                        t,
                        in.withShape(1, 1, shape[2], shape[3]),
                        "an output of 2^62 elements",
                        Expected.values(Integer.MAX_VALUE));
            }
            default -> Misuse.random(g, s, in, false);
        };
    }

    private static Made built(Spec s, String rule, long... values) {
        return Made.invalid(
                s.layer(),
                rule,
                s.toString(),
                Expected.values(values),
                () -> s.build(null, false).close());
    }

    private static Made forward(Spec s, Input in, String rule, long... values) {
        return Made.invalid(s.layer(), rule, s + " on " + in, Expected.values(values), () -> {
            try (Module m = s.build(null, false);
                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                m.forward(x).close();
            }
        });
    }

    private static Made adaptiveForward(AdaptiveSpec s, Input in, String rule, Expected e) {
        return Made.invalid(s.layer(), rule, s + " on " + in, e, () -> {
            try (Module m = s.build(null, false);
                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                m.forward(x).close();
            }
        });
    }
}
