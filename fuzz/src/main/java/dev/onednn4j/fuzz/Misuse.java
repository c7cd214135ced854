package dev.onednn4j.fuzz;

import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Invalid calls of a valid layer on a valid input, which every layer that runs an operation must refuse: an input
 * that is not float32 or is closed, a closed layer, and an {@code out} of the wrong shape or dtype, read-only,
 * closed, or the input itself.
 */
final class Misuse {
    private Misuse() {}

    /** The dtypes a float32 layer refuses. */
    static final List<DType> NOT_FLOAT32 =
            List.of(DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16, DType.INT64, DType.INT32, DType.INT8, DType.UINT8);

    /**
     * One invalid call, chosen at random among those that apply.
     *
     * @param sameShape whether the layer's output has the input's shape (then {@code forward(x, x)} is tried too)
     */
    static Made random(Gen g, LayerSpec spec, Input in, boolean sameShape) {
        List<String> kinds = new ArrayList<>(List.of(
                "input dtype",
                "closed input",
                "closed layer",
                "out shape",
                "out dtype",
                "read-only out",
                "closed out"));
        if (sameShape && in.numel() > 0) { // an empty tensor shares no memory, even with itself
            kinds.add("out is the input");
        }
        if (spec.inPlace()) {
            kinds.add("in place on a read-only input");
        }
        if (spec.layer().equals("Linear") && in.rank() == 4) {
            kinds.add("channels-last out");
        }
        String kind = g.pick(kinds);
        long seed = g.nextLong();
        String setup = spec + " on " + in;
        String layer = spec.layer();
        return switch (kind) {
            case "input dtype" -> {
                DType t = g.pick(NOT_FLOAT32);
                yield Made.invalid(
                        layer, "input of dtype " + t, setup, Expected.none().anyOf(t.toString()), () -> {
                            try (Module m = spec.build(new SplittableRandom(seed), false);
                                    Tensor x = Tensor.zeros(t, in.format, in.shape())) {
                                m.forward(x).close();
                            }
                        });
            }
            case "closed input" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("closed"), () -> {
                    Tensor x = Tensor.zeros(in.format, in.shape());
                    x.close();
                    try (Module m = spec.build(new SplittableRandom(seed), false)) {
                        m.forward(x).close();
                    }
                });
            case "closed layer" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("closed"), () -> {
                    Module m = spec.build(new SplittableRandom(seed), false);
                    m.close();
                    try (Tensor x = Tensor.zeros(in.format, in.shape())) {
                        m.forward(x).close();
                    }
                });
            case "out shape" -> {
                int dim = g.r.nextInt(Math.max(in.rank(), 1));
                int delta = g.chance(0.7) ? 1 : 5;
                yield new Made(
                        layer,
                        false,
                        "[out shape] " + setup + ", forward(x, out) with dimension " + dim + " of out " + delta
                                + " larger than the output's; expects a refusal naming its size",
                        trace -> {
                            try (Module m = spec.build(new SplittableRandom(seed), false);
                                    Tensor x = Tensor.zeros(in.format, in.shape())) {
                                long[] shape = FuzzBridge.operation(m, x).outputShape();
                                long[] wrong = shape.length == 0 ? new long[] {1 + delta} : shape.clone();
                                if (shape.length > 0) {
                                    wrong[dim] += delta;
                                }
                                Expected e = Expected.values(wrong[shape.length == 0 ? 0 : dim]);
                                try (Tensor out = Tensor.zeros(wrong)) {
                                    return Checks.refusal(Refusal.thrown(() -> FuzzBridge.forwardInto(m, x, out)), e)
                                            .withDetailPrefix("out " + Arrays.toString(wrong) + ": ");
                                }
                            }
                        });
            }
            case "out dtype" -> {
                DType t = g.pick(NOT_FLOAT32);
                yield Made.invalid(
                        layer, "out of dtype " + t, setup, Expected.none().anyOf(t.toString()), () -> {
                            try (Module m = spec.build(new SplittableRandom(seed), false);
                                    Tensor x = Tensor.zeros(in.format, in.shape());
                                    Tensor out = Tensor.zeros(
                                            t, FuzzBridge.operation(m, x).outputShape())) {
                                FuzzBridge.forwardInto(m, x, out);
                            }
                        });
            }
            case "read-only out" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("read-only"), () -> {
                    try (Module m = spec.build(new SplittableRandom(seed), false);
                            Tensor x = Tensor.zeros(in.format, in.shape());
                            Arena arena = Arena.ofConfined()) {
                        long[] shape = FuzzBridge.operation(m, x).outputShape();
                        long bytes = Math.max(4, 4 * Input.numel(shape));
                        try (Tensor out = Tensor.wrap(arena.allocate(bytes, 64).asReadOnly(), shape)) {
                            FuzzBridge.forwardInto(m, x, out);
                        }
                    }
                });
            case "closed out" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("closed"), () -> {
                    try (Module m = spec.build(new SplittableRandom(seed), false);
                            Tensor x = Tensor.zeros(in.format, in.shape())) {
                        Tensor out = Tensor.zeros(FuzzBridge.operation(m, x).outputShape());
                        out.close();
                        FuzzBridge.forwardInto(m, x, out);
                    }
                });
            case "out is the input" ->
                Made.invalid(layer, "forward(x, x)", setup, Expected.none().anyOf("memory"), () -> {
                    try (Module m = spec.build(new SplittableRandom(seed), false);
                            Tensor x = Tensor.zeros(in.format, in.shape())) {
                        FuzzBridge.forwardInto(m, x, x);
                    }
                });
            case "in place on a read-only input" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("read-only"), () -> {
                    try (Module m = spec.build(new SplittableRandom(seed), false);
                            Arena arena = Arena.ofConfined()) {
                        long bytes = Math.max(4, 4 * in.numel());
                        try (Tensor x = Tensor.wrap(arena.allocate(bytes, 64).asReadOnly(), in.format, in.shape())) {
                            m.forward(x).close();
                        }
                    }
                });
            case "channels-last out" ->
                Made.invalid(layer, kind, setup, Expected.none().anyOf("contiguous"), () -> {
                    try (Module m = spec.build(new SplittableRandom(seed), false);
                            Tensor x = Tensor.zeros(in.format, in.shape());
                            Tensor out = Tensor.zeros(
                                    MemoryFormat.CHANNELS_LAST,
                                    FuzzBridge.operation(m, x).outputShape())) {
                        FuzzBridge.forwardInto(m, x, out);
                    }
                });
            default -> throw new IllegalStateException(kind);
        };
    }
}
