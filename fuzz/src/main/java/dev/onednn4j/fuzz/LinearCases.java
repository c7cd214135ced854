package dev.onednn4j.fuzz;

import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.Linear;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Linear cases: 1 to 128 input features, 0 to 32 outputs, bias or not, inputs of 1 to 4 dimensions (empty leading
 * dimensions, channels-last 4-D inputs, which the layer copies to rows), and the rules: the last dimension must be
 * in_features, out must be contiguous and must not be the weight.
 */
final class LinearCases {
    private LinearCases() {}

    /** A Linear's arguments. */
    record Spec(int in, int out, boolean bias) implements LayerSpec {
        @Override
        public String layer() {
            return "Linear";
        }

        Linear.Builder builder() {
            return Linear.builder(in, out).bias(bias);
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            Linear fc = builder().seed(r.nextLong()).build();
            if (integers) {
                LayerSpec.integerParameters(fc, r);
            }
            return fc;
        }

        @Override
        public boolean exactTier() {
            return true;
        }

        @Override
        public MemoryFormat planInputFormat(MemoryFormat format) {
            return MemoryFormat.CONTIGUOUS; // Linear hands oneDNN rows: a channels-last input is copied first
        }

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT, "Linear(in_features=%d, out_features=%d, bias=%s)", in, out, bias ? "True" : "False");
        }
    }

    static Spec validSpec(Gen g) {
        double x = g.r.nextDouble();
        int in = x < 0.4 ? g.between(1, 8) : x < 0.8 ? g.between(9, 32) : g.between(33, 128);
        int out = g.chance(0.05) ? 0 : g.between(1, 32);
        return new Spec(in, out, g.chance(0.8));
    }

    static Input input(Gen g, Spec s) {
        int rank = g.weighted(new int[] {1, 2, 3, 4}, new double[] {0.2, 0.5, 0.15, 0.15});
        long[] shape = new long[rank];
        for (int i = 0; i < rank - 1; i++) {
            shape[i] = g.chance(0.05) ? 0 : g.between(1, 4);
        }
        shape[rank - 1] = s.in();
        MemoryFormat f = rank == 4 && g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        return new Input(shape, f, Data.random(g, 2));
    }

    static Made valid(Gen g) {
        Spec s = validSpec(g);
        Input in = input(g, s);
        return Made.valid(s, in, Call.random(g, in.rank(), false), g.nextLong());
    }

    static Made invalid(Gen g) {
        Spec s = validSpec(g);
        Input in = input(g, s);
        long[] shape = in.shape();
        int kind = g.between(0, 10);
        return switch (kind) {
            case 0 -> {
                int v = g.pick(List.of(0, -1, -9));
                yield built(new Spec(v, s.out(), s.bias()), "in_features " + v, Expected.values(v));
            }
            case 1 -> {
                int v = g.pick(List.of(-1, -4, Integer.MIN_VALUE));
                yield built(new Spec(s.in(), v, s.bias()), "out_features " + v, Expected.values(v));
            }
            case 2 -> {
                int v = g.pick(List.of(46341, 65536, Integer.MAX_VALUE));
                yield built(
                        new Spec(v, v, s.bias()), "a weight of more elements than an array holds", Expected.values(v));
            }
            case 3 -> {
                long k = (long) s.in() + g.between(1, 5);
                long[] bad = shape.clone();
                bad[bad.length - 1] = k;
                yield forward(s, in.withShape(bad), "last dimension " + k, Expected.values(k, s.in()));
            }
            case 4 -> forward(s, in.withShape(), "a 0-d input", Expected.none().anyOf("0D"));
            // an empty weight shares no memory with anything (PyTorch's rule too): no overlap to refuse
            case 5 -> s.in() == 0 || s.out() == 0 ? Misuse.random(g, s, in, false) : weightAsOut(g, s);
            default -> Misuse.random(g, s, in, false);
        };
    }

    /** forward(x, out) with out a view of the layer's own weight: refused, naming the memory it shares. */
    private static Made weightAsOut(Gen g, Spec s) {
        long seed = g.nextLong();
        int n = s.in();
        return Made.invalid(
                s.layer(),
                "out is the layer's weight",
                s + " on input [" + n + ", " + n + "], forward(x, weight.view(" + n + ", " + s.out() + "))",
                Expected.none().anyOf("memory"),
                () -> {
                    try (Linear fc = (Linear) s.build(new SplittableRandom(seed), false);
                            Tensor x = Tensor.zeros(n, n);
                            Tensor out = fc.weight().view(n, s.out())) {
                        FuzzBridge.forwardInto(fc, x, out);
                    }
                });
    }

    private static Made built(Spec s, String rule, Expected e) {
        return Made.invalid(
                s.layer(), rule, s.toString(), e, () -> s.builder().build().close());
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
