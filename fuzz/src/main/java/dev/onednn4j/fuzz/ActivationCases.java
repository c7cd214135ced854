package dev.onednn4j.fuzz;

import dev.onednn4j.nn.GELU;
import dev.onednn4j.nn.Hardsigmoid;
import dev.onednn4j.nn.Hardswish;
import dev.onednn4j.nn.LeakyReLU;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.ReLU6;
import dev.onednn4j.nn.SiLU;
import dev.onednn4j.nn.Sigmoid;
import dev.onednn4j.nn.Tanh;
import dev.onednn4j.tensor.MemoryFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Cases for every activation: ReLU, ReLU6, LeakyReLU (any finite slope), SiLU, GELU (none, tanh), Sigmoid, Tanh,
 * Hardswish, Hardsigmoid, in place where PyTorch offers it, on tensors of 0 to 5 dimensions (long ones too, for the
 * vector kernels' tails), inputs reaching the functions' saturated ranges.
 */
final class ActivationCases {
    private ActivationCases() {}

    /** Those PyTorch builds with an {@code inplace} argument. */
    static final Set<String> IN_PLACE = Set.of("ReLU", "ReLU6", "LeakyReLU", "SiLU", "Hardswish", "Hardsigmoid");

    /**
     * An activation.
     *
     * @param kind        the class name, one of {@link Layers#ACTIVATIONS}
     * @param slope       LeakyReLU's negative_slope
     * @param approximate GELU's approximate
     */
    record Spec(String kind, double slope, String approximate, boolean inplace) implements LayerSpec {
        @Override
        public String layer() {
            return kind;
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            return switch (kind) {
                case "ReLU" -> new ReLU(inplace);
                case "ReLU6" -> new ReLU6(inplace);
                case "LeakyReLU" -> new LeakyReLU(slope, inplace);
                case "SiLU" -> new SiLU(inplace);
                case "GELU" -> new GELU(approximate);
                case "Sigmoid" -> new Sigmoid();
                case "Tanh" -> new Tanh();
                case "Hardswish" -> new Hardswish(inplace);
                case "Hardsigmoid" -> new Hardsigmoid(inplace);
                default -> throw new IllegalStateException(kind);
            };
        }

        @Override
        public boolean inPlace() {
            return inplace;
        }

        @Override
        public String toString() {
            List<String> args = new ArrayList<>();
            if (kind.equals("LeakyReLU")) {
                args.add("negative_slope=" + slope);
            }
            if (kind.equals("GELU")) {
                args.add("approximate='" + approximate + "'");
            }
            if (inplace) {
                args.add("inplace=True");
            }
            return kind + "(" + String.join(", ", args) + ")";
        }
    }

    static Spec validSpec(Gen g, List<String> kinds) {
        String kind = g.pick(kinds);
        double slope = g.pick(List.of(0.01, 0.2, -0.3, 1.5, 0.0, -2.0, 1e-3));
        String approximate = g.chance(0.5) ? "none" : "tanh";
        return new Spec(kind, slope, approximate, IN_PLACE.contains(kind) && g.chance(0.3));
    }

    static Input input(Gen g) {
        int rank = g.weighted(new int[] {0, 1, 2, 3, 4, 5}, new double[] {0.05, 0.15, 0.15, 0.15, 0.45, 0.05});
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = g.chance(0.04) ? 0 : g.between(1, 7);
        }
        if (rank > 0 && g.chance(0.1)) {
            shape[g.r.nextInt(rank)] = g.between(17, 300); // long rows: the vector kernels' tails
        }
        double x = g.r.nextDouble();
        double scale = x < 0.2 ? 1 : x < 0.8 ? 8 : 40;
        MemoryFormat f = rank == 4 && g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        return new Input(shape, f, Data.random(g, scale));
    }

    static Made valid(Gen g, List<String> kinds) {
        Spec s = validSpec(g, kinds);
        Input in = input(g);
        Call call = s.inplace() ? Call.FORWARD : Call.random(g, in.rank(), true);
        return Made.valid(s, in, call, g.nextLong());
    }

    static Made invalid(Gen g, List<String> kinds) {
        Spec s = validSpec(g, kinds);
        Input in = input(g);
        if (s.kind().equals("LeakyReLU") && g.chance(0.3)) {
            double slope = g.pick(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
            Spec t = new Spec(s.kind(), slope, s.approximate(), s.inplace());
            return Made.invalid(
                    t.layer(),
                    "negative_slope " + slope,
                    t.toString(),
                    Expected.none().value(slope),
                    () -> t.build(null, false).close());
        }
        if (s.kind().equals("GELU") && g.chance(0.3)) {
            String bad = g.pick(List.of("tan", "erf", "None", ""));
            Spec t = new Spec(s.kind(), s.slope(), bad, false);
            return Made.invalid(
                    t.layer(),
                    String.format(Locale.ROOT, "approximate '%s'", bad),
                    t.toString(),
                    Expected.none().anyOf("'" + bad + "'"),
                    () -> t.build(null, false).close());
        }
        // forward(x, x) is not misuse for an activation: it runs in place, as inplace=True does (a valid call)
        return Misuse.random(g, s, in, false);
    }
}
