package dev.onednn4j.fuzz;

import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * BatchNorm2d cases: eps, affine, running statistics or the batch's own, 0 to 64 channels, both memory formats, and
 * the rules: a 4-D input of the right channels, eval mode, more than one value per channel without running
 * statistics, a finite momentum and a positive eps.
 */
final class BatchNormCases {
    private BatchNormCases() {}

    /**
     * A BatchNorm2d's arguments; its statistics and affine parameters are drawn when it is built.
     *
     * @param eval whether it is switched to eval mode (a new one is in training mode, which forward refuses)
     */
    record Spec(int c, double eps, double momentum, boolean affine, boolean track, boolean eval) implements LayerSpec {
        @Override
        public String layer() {
            return "BatchNorm2d";
        }

        BatchNorm2d builderBuild() {
            return BatchNorm2d.builder(c)
                    .eps(eps)
                    .momentum(momentum)
                    .affine(affine)
                    .trackRunningStats(track)
                    .build();
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            BatchNorm2d bn = builderBuild();
            if (track) {
                bn.runningMean().copyFrom(uniform(r, c, -1, 1));
                float[] var = uniform(r, c, 0.05, 2);
                if (c > 0 && r.nextInt(10) == 0) {
                    var[r.nextInt(c)] = 0; // a channel of zero variance: eps alone keeps it finite
                }
                bn.runningVar().copyFrom(var);
            }
            if (affine) {
                bn.weight().copyFrom(uniform(r, c, -2, 2));
                bn.bias().copyFrom(uniform(r, c, -1, 1));
            }
            if (eval) {
                bn.eval();
            }
            return bn;
        }

        Spec with(int channels, double newEps, double newMomentum, boolean newTrack, boolean newEval) {
            return new Spec(channels, newEps, newMomentum, affine, newTrack, newEval);
        }

        @Override
        public String toString() {
            return String.format(
                            Locale.ROOT,
                            "BatchNorm2d(%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s)",
                            c,
                            eps,
                            momentum,
                            affine ? "True" : "False",
                            track ? "True" : "False")
                    + (eval ? "" : " in training mode");
        }
    }

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return a;
    }

    static Spec validSpec(Gen g) {
        double x = g.r.nextDouble();
        int c = x < 0.03 ? 0 : x < 0.85 ? g.between(1, 16) : g.pick(List.of(24, 32, 64));
        double eps = g.pick(List.of(1e-5, 1e-5, 1e-3, 0.1, 1e-8));
        return new Spec(c, eps, g.pick(List.of(0.1, 0.0, 0.9)), g.chance(0.8), g.chance(0.8), true);
    }

    static Input input(Gen g, Spec s) {
        long n = g.batch();
        long h = g.spatial();
        long w = g.spatial();
        if (!s.track() && n * h * w == 1) {
            w = 2; // the batch's statistics need more than one value per channel
        }
        MemoryFormat f = g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        return new Input(new long[] {n, s.c(), h, w}, f, Data.random(g, 3));
    }

    static Made valid(Gen g) {
        Spec s = validSpec(g);
        Input in = input(g, s);
        return Made.valid(s, in, Call.random(g, 4, true), g.nextLong());
    }

    static Made invalid(Gen g) {
        Spec s = validSpec(g);
        if (s.c() == 0) {
            s = s.with(3, s.eps(), s.momentum(), s.track(), true);
        }
        Input in = input(g, s);
        long[] shape = in.shape();
        int kind = g.between(0, 13);
        return switch (kind) {
            case 0 -> {
                int v = g.pick(List.of(-1, -5, Integer.MIN_VALUE));
                yield built(s.with(v, s.eps(), s.momentum(), s.track(), true), "num_features " + v, Expected.values(v));
            }
            case 1 -> {
                double eps = g.pick(List.of(0.0, -1e-5, -1.0, Double.NaN, Double.POSITIVE_INFINITY));
                yield built(
                        s.with(s.c(), eps, s.momentum(), s.track(), true),
                        "eps " + eps,
                        Expected.none().value(eps));
            }
            case 2 -> {
                double m = g.pick(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
                yield built(
                        s.with(s.c(), s.eps(), m, s.track(), true),
                        "momentum " + m,
                        Expected.none().value(m));
            }
            case 3 -> {
                long c = (long) s.c() + g.between(1, 3);
                yield forward(
                        s,
                        in.withShape(shape[0], c, shape[2], shape[3]),
                        "input with " + c + " channels",
                        Expected.values(c, s.c()));
            }
            case 4 -> {
                long[] bad = g.pick(
                        List.of(new long[] {s.c(), shape[2], shape[3]}, new long[] {shape[0], s.c()}, new long[] {
                            1, shape[0], s.c(), shape[2], shape[3]
                        }));
                yield forward(s, in.withShape(bad), bad.length + "-D input", Expected.values(bad.length));
            }
            case 5 -> {
                Spec t = s.with(s.c(), s.eps(), s.momentum(), false, true);
                yield forward(
                        t,
                        in.withShape(1, s.c(), 1, 1),
                        "one value per channel without running statistics",
                        Expected.values(s.c()));
            }
            case 6 -> {
                Spec t = s.with(s.c(), s.eps(), s.momentum(), s.track(), false);
                yield forward(t, in, "training mode", Expected.none().anyOf("eval"));
            }
            case 7 -> {
                if (s.c() == 0) { // an empty weight shares no memory with anything: no overlap to refuse
                    yield Misuse.random(g, s, in, true);
                }
                Spec t = new Spec(s.c(), s.eps(), s.momentum(), true, true, true);
                long seed = g.nextLong();
                yield Made.invalid(
                        t.layer(),
                        "out is the layer's weight",
                        t + " on input [1, " + t.c() + ", 1, 1], forward(x, weight.view(1, C, 1, 1))",
                        Expected.none().anyOf("memory"),
                        () -> {
                            try (BatchNorm2d bn = (BatchNorm2d) t.build(new SplittableRandom(seed), false);
                                    Tensor x = Tensor.zeros(1, t.c(), 1, 1);
                                    Tensor out = bn.weight().view(1, t.c(), 1, 1)) {
                                FuzzBridge.forwardInto(bn, x, out);
                            }
                        });
            }
            default -> Misuse.random(g, s, in, true);
        };
    }

    private static Made built(Spec s, String rule, Expected e) {
        return Made.invalid(
                s.layer(), rule, s.toString(), e, () -> s.builderBuild().close());
    }

    private static Made forward(Spec s, Input in, String rule, Expected e) {
        return Made.invalid(s.layer(), rule, s + " on " + in, e, () -> {
            try (Module m = s.build(new SplittableRandom(1), false);
                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                m.forward(x).close();
            }
        });
    }
}
