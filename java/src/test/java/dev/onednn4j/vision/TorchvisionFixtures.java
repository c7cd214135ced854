package dev.onednn4j.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The model fixtures of scripts/make-torch-fixtures ({@code --only models}): torchvision models whose weights come
 * from a documented seeded generator that the script and this class both implement, so only seeds and PyTorch's
 * outputs are committed. The generator, {@code splitmix64-fnv1a-uniform-v1}: each tensor of the state dict (and
 * the input) is filled in row-major order from its own SplitMix64 stream seeded with {@code seed ^ fnv1a64(key)};
 * {@code uniform(lo, hi) = lo + (hi - lo) * ((next() >>> 11) * 2^-53)} in double, rounded to float32. The rule
 * per key and the constants are in the script's docstring and in each file's metadata.
 */
final class TorchvisionFixtures {
    private TorchvisionFixtures() {
    }

    /** One fixture file: metadata and PyTorch's float64 logits. */
    record Fixture(String name, long seed, long[] inputShape, JsonObject generator, JsonObject checksums,
                   String keys, String repr, Map<String, String> metadata, double[] output, long[] outputShape) {
    }

    static Path dir() throws URISyntaxException {
        return Path.of(TorchvisionFixtures.class.getResource("/torch/models").toURI());
    }

    static Fixture load(String name) throws IOException, URISyntaxException {
        try (SafeTensors f = SafeTensors.load(dir().resolve(name + ".safetensors"))) {
            Map<String, String> m = f.metadata();
            Tensor out = f.tensors().get("output");
            assertEquals(DType.FLOAT64, out.dtype(), "PyTorch's logits are float64");
            var shape = JsonParser.parseString(m.get("input_shape")).getAsJsonArray();
            long[] inputShape = new long[shape.size()];
            for (int i = 0; i < inputShape.length; i++) {
                inputShape[i] = shape.get(i).getAsLong();
            }
            return new Fixture(name, Long.parseLong(m.get("seed")), inputShape,
                    JsonParser.parseString(m.get("generator")).getAsJsonObject(),
                    JsonParser.parseString(m.get("checksums")).getAsJsonObject(), m.get("keys"), m.get("repr"), m,
                    out.toDoubleArray(), out.shape());
        }
    }

    // ---- the generator ---------------------------------------------------------------------------

    static long fnv1a64(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    /** SplitMix64 from {@code seed ^ fnv1a64(key)}. */
    static final class Stream {
        private long state;

        Stream(long seed, String key) {
            state = seed ^ fnv1a64(key);
        }

        long next() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        /** lo + (hi - lo) * unit, in double; unit = (next >>> 11) * 2^-53, exact. */
        double uniformDouble(double lo, double hi) {
            return lo + (hi - lo) * ((next() >>> 11) * 0x1.0p-53);
        }

        float[] uniform(double lo, double hi, long n) {
            float[] v = new float[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) uniformDouble(lo, hi);
            }
            return v;
        }
    }

    static double[] range(JsonObject generator, String key) {
        var a = generator.getAsJsonArray(key);
        return new double[] {a.get(0).getAsDouble(), a.get(1).getAsDouble()};
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * The generator's tensors for a module's state dict (its keys and shapes decide each rule: a BatchNorm where
     * {@code P.running_var} exists, a 4-D weight is a convolution's, a 2-D weight and its bias a Linear's).
     */
    static Map<String, Tensor> stateDict(Map<String, Tensor> shapes, long seed, JsonObject g) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : shapes.entrySet()) {
            out.put(e.getKey(), generated(e.getKey(), e.getValue().shape(), shapes, seed, g));
        }
        return out;
    }

    private static Tensor generated(String key, long[] shape, Map<String, Tensor> shapes, long seed, JsonObject g) {
        int dot = key.lastIndexOf('.');
        String prefix = key.substring(0, Math.max(dot, 0));
        String leaf = key.substring(dot + 1);
        Stream s = new Stream(seed, key);
        long n = numel(shape);
        if (shapes.containsKey(prefix + ".running_var")) {
            switch (leaf) {
                case "running_var" -> {
                    double[] r = range(g, "bn_running_var");
                    return Tensor.of(s.uniform(r[0], r[1], n), shape);
                }
                case "running_mean" -> {
                    double[] r = range(g, "bn_running_mean");
                    return Tensor.of(s.uniform(r[0], r[1], n), shape);
                }
                case "weight" -> {
                    // the weight cancels the variance: BN(x) is (x - mean) * factor + bias, a gain of about one
                    float[] var = generated(prefix + ".running_var", shape, shapes, seed, g).toFloatArray();
                    double[] r = range(g, "bn_weight_factor");
                    float[] w = new float[var.length];
                    for (int i = 0; i < w.length; i++) {
                        w[i] = (float) (s.uniformDouble(r[0], r[1]) * Math.sqrt(var[i]));
                    }
                    return Tensor.of(w, shape);
                }
                case "bias" -> {
                    double[] r = range(g, "bn_bias");
                    return Tensor.of(s.uniform(r[0], r[1], n), shape);
                }
                case "num_batches_tracked" -> {
                    Tensor t = Tensor.zeros(DType.INT64);
                    t.setLong(s.next() >>> 33);
                    return t;
                }
                default -> throw new AssertionError("no rule for " + key);
            }
        }
        if (leaf.equals("weight") && shape.length == 4) {
            double b = Math.sqrt(g.get("conv_weight_gain").getAsDouble() / (shape[1] * shape[2] * shape[3]));
            return Tensor.of(s.uniform(-b, b, n), shape);
        }
        if (leaf.equals("weight") && shape.length == 2) {
            double b = Math.sqrt(g.get("linear_weight_gain").getAsDouble() / shape[1]);
            return Tensor.of(s.uniform(-b, b, n), shape);
        }
        if (leaf.equals("bias") && shapes.containsKey(prefix + ".weight") && shapes.get(prefix + ".weight").dim() == 2) {
            double[] r = range(g, "linear_bias");
            return Tensor.of(s.uniform(r[0], r[1], n), shape);
        }
        throw new AssertionError("the generator has no rule for " + key);
    }

    /** The generated input. */
    static Tensor input(Fixture f) {
        double[] r = range(f.generator(), "input");
        return Tensor.of(new Stream(f.seed(), "input").uniform(r[0], r[1], numel(f.inputShape())), f.inputShape());
    }

    /** {@code sum over i of bits(element i) * (i + 1) mod 2^64}: float32 bits, or an int64's value. */
    static long checksum(Tensor t) {
        long sum = 0;
        if (t.dtype() == DType.INT64) {
            long[] v = t.toLongArray();
            for (int i = 0; i < v.length; i++) {
                sum += v[i] * (i + 1L);
            }
        } else {
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                sum += (Float.floatToRawIntBits(v[i]) & 0xffffffffL) * (i + 1L);
            }
        }
        return sum;
    }
}
