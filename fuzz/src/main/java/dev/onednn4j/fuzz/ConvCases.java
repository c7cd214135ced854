package dev.onednn4j.fuzz;

import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Padding;
import dev.onednn4j.nn.PaddingMode;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Conv2d cases: every option (kernel, stride, padding as numbers, {@code same} or {@code valid}, the four padding
 * modes, dilation, groups, bias), spatial sizes weighted towards 1 to 3 and padding up to and past the dilated
 * kernel, so that output positions whose whole window lies in the padding are common.
 */
final class ConvCases {
    private ConvCases() {}

    /** Multiply-adds a valid case may cost the reference loop (which runs three times per case). */
    static final long BUDGET = 600_000;

    /** A Conv2d's arguments, as its builder takes them. {@code named} is null for numeric padding. */
    record Spec(
            int in,
            int out,
            int kH,
            int kW,
            int sH,
            int sW,
            Padding named,
            int pH,
            int pW,
            int dH,
            int dW,
            int groups,
            boolean bias,
            PaddingMode mode)
            implements LayerSpec {

        @Override
        public String layer() {
            return "Conv2d";
        }

        Conv2d.Builder builder() {
            Conv2d.Builder b = Conv2d.builder(in, out, kH, kW)
                    .stride(sH, sW)
                    .dilation(dH, dW)
                    .groups(groups)
                    .bias(bias)
                    .paddingMode(mode);
            return named != null ? b.padding(named) : b.padding(pH, pW);
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            Conv2d conv = builder().seed(r.nextLong()).build();
            if (integers) {
                LayerSpec.integerParameters(conv, r);
            }
            return conv;
        }

        @Override
        public boolean exactTier() {
            return true;
        }

        Spec withChannels(int newIn, int newOut, int newGroups) {
            return new Spec(newIn, newOut, kH, kW, sH, sW, named, pH, pW, dH, dW, newGroups, bias, mode);
        }

        Spec withKernel(int h, int w) {
            return new Spec(in, out, h, w, sH, sW, named, pH, pW, dH, dW, groups, bias, mode);
        }

        Spec withStride(int h, int w) {
            return new Spec(in, out, kH, kW, h, w, named, pH, pW, dH, dW, groups, bias, mode);
        }

        Spec withPadding(Padding n, int h, int w) {
            return new Spec(in, out, kH, kW, sH, sW, n, h, w, dH, dW, groups, bias, mode);
        }

        Spec withDilation(int h, int w) {
            return new Spec(in, out, kH, kW, sH, sW, named, pH, pW, h, w, groups, bias, mode);
        }

        Spec withMode(PaddingMode m) {
            return new Spec(in, out, kH, kW, sH, sW, named, pH, pW, dH, dW, groups, bias, m);
        }

        long effH() {
            return (long) dH * (kH - 1) + 1;
        }

        long effW() {
            return (long) dW * (kW - 1) + 1;
        }

        /** Rows of padding (top + bottom) and columns (left + right). */
        long padTotalH() {
            return named == Padding.SAME ? effH() - 1 : named == Padding.VALID ? 0 : 2L * pH;
        }

        long padTotalW() {
            return named == Padding.SAME ? effW() - 1 : named == Padding.VALID ? 0 : 2L * pW;
        }

        /** The larger side of the padding along each dimension (what reflect and circular limit). */
        long padSideH() {
            return (padTotalH() + 1) / 2;
        }

        long padSideW() {
            return (padTotalW() + 1) / 2;
        }

        /** The smallest input rows and columns this configuration accepts. */
        long minH() {
            return Math.max(1, Math.max(effH() - padTotalH(), minForMode(padSideH())));
        }

        long minW() {
            return Math.max(1, Math.max(effW() - padTotalW(), minForMode(padSideW())));
        }

        private long minForMode(long side) {
            return switch (mode) {
                case REFLECT -> side + 1;
                case CIRCULAR -> side;
                default -> 1;
            };
        }

        /** Multiply-adds of the reference loop for an (n, in, h, w) input. */
        long cost(long n, long h, long w) {
            long oh = (h + padTotalH() - effH()) / sH + 1;
            long ow = (w + padTotalW() - effW()) / sW + 1;
            return n * out * oh * ow * (in / groups) * kH * kW;
        }

        @Override
        public String toString() {
            String padding = named != null ? "'" + named + "'" : "(" + pH + ", " + pW + ")";
            return String.format(
                    Locale.ROOT,
                    "Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d), padding=%s, dilation=(%d, %d), groups=%d, "
                            + "bias=%s, padding_mode='%s')",
                    in,
                    out,
                    kH,
                    kW,
                    sH,
                    sW,
                    padding,
                    dH,
                    dW,
                    groups,
                    bias ? "True" : "False",
                    mode);
        }
    }

    static int stride(Gen g) {
        double x = g.r.nextDouble();
        if (x < 0.45) {
            return 1;
        }
        if (x < 0.8) {
            return g.between(2, 3);
        }
        if (x < 0.92) {
            return g.between(4, 6);
        }
        if (x < 0.97) {
            return g.between(7, 17);
        }
        return Integer.MAX_VALUE; // valid: one output per dimension
    }

    static int dilation(Gen g) {
        return g.chance(0.6) ? 1 : g.between(2, 4);
    }

    /** Padding of one side: none, up to the dilated kernel, past it (windows entirely in the padding). */
    static int padding(Gen g, long eff) {
        double x = g.r.nextDouble();
        if (x < 0.25) {
            return 0;
        }
        if (x < 0.75) {
            return g.between(0, (int) eff);
        }
        return g.between((int) eff, (int) eff + 3);
    }

    static Spec validSpec(Gen g) {
        int groups;
        int in;
        int out;
        double x = g.r.nextDouble();
        if (x < 0.45) {
            groups = 1;
            in = g.between(1, 4);
            out = g.between(1, 4);
        } else if (x < 0.65) {
            groups = g.between(2, 4);
            in = groups * g.between(1, 3);
            out = groups * g.between(1, 3);
        } else if (x < 0.78) {
            in = g.between(1, 16); // depthwise, with a channel multiplier of 1 or 2
            groups = in;
            out = in * g.between(1, 2);
        } else {
            groups = g.chance(0.35) ? 2 : 1; // wide: the brgemm kernels' territory
            in = groups * g.pick(List.of(3, 4, 5, 8, 16, 32));
            out = groups * g.pick(List.of(3, 6, 8, 12, 16, 32));
        }
        int kH = g.kernel();
        int kW = g.chance(0.4) ? kH : g.kernel();
        int dH = dilation(g);
        int dW = g.chance(0.4) ? dH : dilation(g);
        int sH = stride(g);
        int sW = g.chance(0.4) ? sH : stride(g);
        PaddingMode mode = g.chance(0.6)
                ? PaddingMode.ZEROS
                : g.pick(List.of(PaddingMode.REFLECT, PaddingMode.REPLICATE, PaddingMode.CIRCULAR));
        Spec s = new Spec(in, out, kH, kW, sH, sW, null, 0, 0, dH, dW, groups, g.chance(0.75), mode);
        double p = g.r.nextDouble();
        if (p < 0.12 && sH == 1 && sW == 1) {
            return s.withPadding(Padding.SAME, 0, 0);
        }
        if (p < 0.22) {
            return s.withPadding(Padding.VALID, 0, 0);
        }
        return s.withPadding(null, padding(g, s.effH()), padding(g, s.effW()));
    }

    /** A valid configuration and input within the cost budget. */
    static Made valid(Gen g) {
        Spec s = validSpec(g);
        boolean unbatched = g.chance(0.12);
        long n = unbatched ? 1 : g.batch();
        long h = Math.max(g.spatial(), s.minH());
        long w = Math.max(g.spatial(), s.minW());
        if (s.named() == null && g.chance(0.3)) {
            // the edge oneDNN 3.13's brgemm kernels trip on: a narrow input whose first output column (or row) sees
            // only padding, more often strided and dilated (which matters to them even for a kernel of 1)
            int stride = g.chance(0.6) ? g.between(2, 4) : stride(g);
            int dilation = g.chance(0.6) ? g.between(2, 4) : dilation(g);
            if (g.chance(0.7)) {
                s = s.withStride(s.sH(), stride).withDilation(s.dH(), dilation);
                s = s.withPadding(null, s.pH(), g.between((int) s.effW(), (int) s.effW() + 3));
                w = g.between((int) s.minW(), (int) s.minW() + 2);
            } else {
                s = s.withStride(stride, s.sW()).withDilation(dilation, s.dW());
                s = s.withPadding(null, g.between((int) s.effH(), (int) s.effH() + 3), s.pW());
                h = g.between((int) s.minH(), (int) s.minH() + 2);
            }
            h = Math.max(h, s.minH());
            w = Math.max(w, s.minW());
        }
        for (int tries = 0; s.cost(n, h, w) > BUDGET && tries < 8; tries++) {
            if (h > s.minH() || w > s.minW()) {
                h = Math.max(s.minH(), h / 2);
                w = Math.max(s.minW(), w / 2);
            } else if (n > 1) {
                n = 1;
            } else {
                s = s.withChannels(s.groups(), s.groups(), s.groups()); // one channel per group in and out
            }
        }
        long[] shape = unbatched ? new long[] {s.in(), h, w} : new long[] {n, s.in(), h, w};
        MemoryFormat f = !unbatched && g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        Input input = new Input(shape, f, Data.random(g, 1));
        return Made.valid(s, input, Call.random(g, shape.length, true), g.nextLong());
    }

    /** An invalid configuration or input: one rule broken. */
    static Made invalid(Gen g) {
        Spec s = validSpec(g);
        long n = g.between(1, 2);
        long h = Math.max(g.spatial(), s.minH());
        long w = Math.max(g.spatial(), s.minW());
        Input in = new Input(new long[] {n, s.in(), h, w}, MemoryFormat.CONTIGUOUS, Data.floats(1));
        int kind = g.between(0, 19);
        return switch (kind) {
            case 0 -> {
                int v = g.pick(List.of(0, -1, -7, Integer.MIN_VALUE));
                yield built(s.withChannels(v, s.out(), 1), "in_channels=" + v, Expected.values(v));
            }
            case 1 -> {
                int v = g.pick(List.of(0, -2, -64));
                yield built(s.withChannels(s.in(), v, 1), "out_channels=" + v, Expected.values(v));
            }
            case 2 -> {
                int v = g.pick(List.of(0, -1, -3));
                yield built(s.withChannels(s.in(), s.out(), v), "groups=" + v, Expected.values(v));
            }
            case 3 -> {
                int groups = g.between(2, 4);
                int c = groups * g.between(1, 3) + g.between(1, groups - 1);
                yield built(
                        s.withChannels(c, groups * 2, groups),
                        "in_channels not divisible by groups",
                        Expected.values(c, groups));
            }
            case 4 -> {
                int groups = g.between(2, 4);
                int out = groups * g.between(1, 3) + g.between(1, groups - 1);
                yield built(
                        s.withChannels(groups, out, groups),
                        "out_channels not divisible by groups",
                        Expected.values(out, groups));
            }
            case 5 -> {
                int v = g.pick(List.of(0, -1, -5));
                boolean height = g.chance(0.5);
                yield built(
                        height ? s.withKernel(v, s.kW()) : s.withKernel(s.kH(), v),
                        "kernel_size " + v,
                        Expected.values(v));
            }
            case 6 -> {
                int v = g.pick(List.of(0, -1, -2, Integer.MIN_VALUE));
                boolean height = g.chance(0.5);
                yield built(
                        (height ? s.withStride(v, 1) : s.withStride(1, v)).withPadding(null, 0, 0),
                        "stride " + v,
                        Expected.values(v));
            }
            case 7 -> {
                int v = g.pick(List.of(-1, -3, Integer.MIN_VALUE));
                boolean height = g.chance(0.5);
                yield built(
                        height ? s.withPadding(null, v, 0) : s.withPadding(null, 0, v),
                        "padding " + v,
                        Expected.values(v));
            }
            case 8 -> {
                int v = g.pick(List.of(0, -1, -2));
                boolean height = g.chance(0.5);
                yield built(height ? s.withDilation(v, 1) : s.withDilation(1, v), "dilation " + v, Expected.values(v));
            }
            case 9 -> {
                int v = g.between(2, 4);
                yield built(
                        s.withStride(v, 1).withPadding(Padding.SAME, 0, 0),
                        "padding='same' with stride " + v,
                        Expected.values(v));
            }
            case 10 -> {
                int c = g.pick(List.of(46341, 65536, 100_000));
                yield built(
                        s.withChannels(c, c, 1).withKernel(1, 1),
                        "a weight of more elements than an array holds",
                        Expected.values(c));
            }
            case 11 -> {
                long c = (long) s.in() + g.between(1, 3);
                long[] shape = g.chance(0.2) ? new long[] {c, h, w} : new long[] {n, c, h, w};
                yield forward(s, in.withShape(shape), "input with " + c + " channels", Expected.values(s.in(), c));
            }
            case 12 -> {
                long[] shape = g.chance(0.5) ? new long[] {s.in(), h} : new long[] {1, n, s.in(), h, w};
                yield forward(s, in.withShape(shape), shape.length + "-D input", Expected.values(shape));
            }
            case 13 -> {
                boolean height = g.chance(0.5);
                long[] shape = height ? new long[] {n, s.in(), 0, w} : new long[] {n, s.in(), h, 0};
                yield forward(s, in.withShape(shape), "an empty spatial dimension", Expected.values(0));
            }
            case 14 -> {
                // the dilated kernel longer than the padded input
                Spec t = s.withMode(PaddingMode.ZEROS).withKernel(Math.max(3, s.kH()), s.kW());
                int pad = g.between(0, (int) (t.effH() - 2) / 2);
                t = t.withPadding(null, pad, g.between(0, 1));
                long rows = g.between(1, (int) (t.effH() - 2L * pad - 1));
                long padded = rows + 2L * pad;
                yield forward(
                        t,
                        in.withShape(n, t.in(), rows, w + t.effW()),
                        "kernel larger than the padded input",
                        Expected.none().anyOfValues(padded, t.effH(), t.kH()));
            }
            case 15 -> {
                Spec t = s.withPadding(null, Integer.MAX_VALUE, s.pW()).withMode(PaddingMode.ZEROS);
                yield forward(
                        t,
                        in,
                        "padding 2147483647",
                        Expected.none().anyOfValues(Integer.MAX_VALUE, h + 2L * Integer.MAX_VALUE));
            }
            case 16 -> {
                Spec t = s.withDilation(s.dH(), Integer.MAX_VALUE)
                        .withKernel(s.kH(), Math.max(2, s.kW()))
                        .withPadding(null, s.pH(), 0)
                        .withMode(PaddingMode.ZEROS);
                yield forward(
                        t, in, "dilation 2147483647", Expected.none().anyOfValues(t.effW(), w, Integer.MAX_VALUE));
            }
            case 17 -> {
                int pad = (int) h + g.between(0, 2);
                Spec t = s.withPadding(null, pad, 0).withMode(PaddingMode.REFLECT);
                yield forward(t, in, "reflect padding not below the input size", Expected.values(pad));
            }
            case 18 -> {
                int pad = (int) h + g.between(1, 3);
                Spec t = s.withPadding(null, pad, 0).withMode(PaddingMode.CIRCULAR);
                yield forward(t, in, "circular padding above the input size", Expected.values(pad));
            }
            default -> Misuse.random(g, s, in, false);
        };
    }

    /** The builder must refuse the arguments. */
    private static Made built(Spec s, String rule, Expected e) {
        return Made.invalid(
                s.layer(), rule, s.toString(), e, () -> s.builder().build().close());
    }

    /** The layer builds; {@code forward} must refuse the input. */
    private static Made forward(Spec s, Input in, String rule, Expected e) {
        return Made.invalid(s.layer(), rule, s + " on " + in, e, () -> {
            try (Conv2d conv = s.builder().seed(1).build();
                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                conv.forward(x).close();
            }
        });
    }
}
