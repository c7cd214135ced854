package dev.onednn4j.fuzz;

import dev.onednn4j.nn.Flatten;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Flatten cases: any start and end dimension (negative ones too) of tensors of 0 to 5 dimensions, contiguous or
 * channels-last (a view, or a copy), and the rules: dimensions in range, start not after end.
 */
final class FlattenCases {
    private FlattenCases() {}

    /** {@code nn.Flatten(start_dim, end_dim)}. */
    record Spec(int start, int end) implements LayerSpec {
        @Override
        public String layer() {
            return "Flatten";
        }

        @Override
        public Module build(SplittableRandom r, boolean integers) {
            return new Flatten(start, end);
        }

        /** PyTorch's result shape: dimensions start to end (counted from the end if negative) merged into one. */
        long[] flattenedShape(long[] shape) {
            if (shape.length == 0) {
                return new long[] {1};
            }
            int s = start < 0 ? start + shape.length : start;
            int e = end < 0 ? end + shape.length : end;
            long[] out = new long[shape.length - (e - s)];
            int j = 0;
            for (int i = 0; i < s; i++) {
                out[j++] = shape[i];
            }
            long merged = 1;
            for (int i = s; i <= e; i++) {
                merged *= shape[i];
            }
            out[j++] = merged;
            for (int i = e + 1; i < shape.length; i++) {
                out[j++] = shape[i];
            }
            return out;
        }

        @Override
        public String toString() {
            return "Flatten(start_dim=" + start + ", end_dim=" + end + ")";
        }
    }

    static Input input(Gen g, int rank) {
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = g.chance(0.05) ? 0 : g.between(1, 5);
        }
        MemoryFormat f = rank == 4 && g.chance(0.5) ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
        return new Input(shape, f, Data.random(g, 4));
    }

    /** A dimension of a rank-{@code rank} tensor, given as PyTorch allows: from the start or from the end. */
    static int dim(Gen g, int rank, int index) {
        return g.chance(0.5) ? index : index - rank;
    }

    static Made valid(Gen g) {
        int rank = g.weighted(new int[] {0, 1, 2, 3, 4, 5}, new double[] {0.04, 0.12, 0.18, 0.18, 0.4, 0.08});
        Spec s;
        if (rank == 0) {
            s = new Spec(g.pick(List.of(0, -1)), g.pick(List.of(0, -1)));
        } else if (g.chance(0.25)) {
            s = new Spec(1, -1); // nn.Flatten()'s defaults
            rank = Math.max(rank, 2);
        } else {
            int a = g.between(0, rank - 1);
            int b = g.between(a, rank - 1);
            s = new Spec(dim(g, rank, a), dim(g, rank, b));
        }
        return Made.valid(s, input(g, rank), Call.FORWARD, g.nextLong());
    }

    static Made invalid(Gen g) {
        int rank = g.between(1, 5);
        Input in = input(g, rank);
        if (g.chance(0.15)) {
            Spec s = new Spec(0, -1);
            return Made.invalid(
                    s.layer(), "closed input", s + " on " + in, Expected.none().anyOf("closed"), () -> {
                        Tensor x = Tensor.zeros(in.format, in.shape());
                        x.close();
                        try (Module m = s.build(null, false)) {
                            m.forward(x).close();
                        }
                    });
        }
        Spec s;
        String rule;
        Expected e;
        if (rank > 1 && g.chance(0.5)) {
            int b = g.between(0, rank - 2);
            int a = g.between(b + 1, rank - 1);
            s = new Spec(dim(g, rank, a), dim(g, rank, b));
            rule = "start_dim after end_dim";
            e = Expected.values(s.start(), s.end());
        } else {
            int bad = g.chance(0.5) ? rank + g.between(0, 2) : -rank - g.between(1, 3);
            s = g.chance(0.5) ? new Spec(bad, -1) : new Spec(0, bad);
            rule = "dimension " + bad + " out of range";
            e = Expected.values(bad);
        }
        Spec spec = s;
        return Made.invalid(spec.layer(), rule, spec + " on " + in, e, () -> {
            try (Module m = spec.build(null, false);
                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                m.forward(x).close();
            }
        });
    }
}
