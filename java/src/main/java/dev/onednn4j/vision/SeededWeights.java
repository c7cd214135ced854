package dev.onednn4j.vision;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seeded weight generator that {@code scripts/make-torch-fixtures} implements in Python, so that a whole
 * torchvision model can be checked against PyTorch with only seeds and PyTorch's outputs committed
 * ({@code splitmix64-fnv1a-uniform-v1}). Each tensor of a state dict, and the input, is filled in row-major order
 * from its own SplitMix64 stream seeded with {@code seed ^ fnv1a64(key)};
 * {@code uniform(lo, hi) = lo + (hi - lo) * ((next() >>> 11) * 2^-53)} in double, rounded to float32. The rule
 * per key depends only on the key and the state dict's shapes: a BatchNorm where {@code P.running_var} exists
 * (running_var, running_mean, bias uniform; weight {@code uniform_double * sqrt(running_var)}, so BatchNorm is a
 * gain of about one; num_batches_tracked {@code next() >>> 33}), a 4-D weight is a convolution's
 * ({@code b = sqrt(gain / fan_in)}), a 2-D weight and its bias a Linear's. The constants come from the fixture's
 * {@code generator} metadata.
 */
public final class SeededWeights {
    private final long seed;
    private final JsonObject constants;

    /**
     * A generator.
     *
     * @param seed      the fixture's seed
     * @param generator the fixture's {@code generator} metadata, a JSON object of ranges and gains
     * @throws IllegalArgumentException if {@code generator} is not a JSON object
     */
    public SeededWeights(long seed, String generator) {
        this.seed = seed;
        try {
            this.constants = JsonParser.parseString(generator).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the generator metadata is not a JSON object: " + generator, e);
        }
    }

    /**
     * The generator of a model fixture, from its metadata.
     *
     * @param fixtureMetadata the fixture file's metadata, with {@code seed} and {@code generator}
     * @return the generator
     * @throws IllegalArgumentException if either is missing or malformed
     */
    public static SeededWeights of(Map<String, String> fixtureMetadata) {
        String seed = fixtureMetadata.get("seed");
        String generator = fixtureMetadata.get("generator");
        if (seed == null || generator == null) {
            throw new IllegalArgumentException(
                    "a fixture's metadata has a seed and a generator, got keys " + fixtureMetadata.keySet());
        }
        try {
            return new SeededWeights(Long.parseLong(seed), generator);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the fixture's seed is not an integer: " + seed, e);
        }
    }

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

        /** {@code lo + (hi - lo) * unit} in double; {@code unit = (next >>> 11) * 2^-53}, exact. */
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

    private double[] range(String key) {
        var a = constants.getAsJsonArray(key);
        return new double[] {a.get(0).getAsDouble(), a.get(1).getAsDouble()};
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * New tensors, owned by the caller, for every key of {@code like} (a module's state dict: its keys and shapes
     * decide each rule).
     *
     * @param like a state dict whose keys and shapes are generated; read, never changed
     * @return the generated tensors by the same keys, owned by the caller
     */
    public Map<String, Tensor> stateDict(Map<String, Tensor> like) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (var e : like.entrySet()) {
                out.put(e.getKey(), generated(e.getKey(), e.getValue().shape(), like));
            }
        } catch (RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return out;
    }

    /**
     * The fixture's input.
     *
     * @param shape its shape
     * @return a new tensor owned by the caller
     */
    public Tensor input(long... shape) {
        double[] r = range("input");
        return Tensor.of(new Stream(seed, "input").uniform(r[0], r[1], numel(shape)), shape);
    }

    private Tensor generated(String key, long[] shape, Map<String, Tensor> like) {
        int dot = key.lastIndexOf('.');
        String prefix = key.substring(0, Math.max(dot, 0));
        String leaf = key.substring(dot + 1);
        Stream s = new Stream(seed, key);
        long n = numel(shape);
        if (like.containsKey(prefix + ".running_var")) {
            return switch (leaf) {
                case "running_var", "running_mean", "bias" -> {
                    double[] r = range(leaf.equals("bias") ? "bn_bias" : "bn_" + leaf);
                    yield Tensor.of(s.uniform(r[0], r[1], n), shape);
                }
                case "weight" -> batchNormWeight(s, generated(prefix + ".running_var", shape, like), shape);
                case "num_batches_tracked" -> {
                    Tensor t = Tensor.zeros(DType.INT64);
                    t.setLong(s.next() >>> 33);
                    yield t;
                }
                default -> throw new IllegalArgumentException("the generator has no rule for " + key);
            };
        }
        if (leaf.equals("weight") && shape.length == 4) {
            double b = Math.sqrt(constants.get("conv_weight_gain").getAsDouble() / (shape[1] * shape[2] * shape[3]));
            return Tensor.of(s.uniform(-b, b, n), shape);
        }
        if (leaf.equals("weight") && shape.length == 2) {
            double b = Math.sqrt(constants.get("linear_weight_gain").getAsDouble() / shape[1]);
            return Tensor.of(s.uniform(-b, b, n), shape);
        }
        if (leaf.equals("bias")
                && like.containsKey(prefix + ".weight")
                && like.get(prefix + ".weight").dim() == 2) {
            double[] r = range("linear_bias");
            return Tensor.of(s.uniform(r[0], r[1], n), shape);
        }
        throw new IllegalArgumentException(
                "the generator has no rule for " + key + " of shape " + java.util.Arrays.toString(shape));
    }

    /**
     * A BatchNorm weight that cancels its variance, so the layer is a gain of about one:
     * {@code uniform_double(factor) * sqrt(running_var)}, rounded once. Closes {@code runningVar}.
     */
    private Tensor batchNormWeight(Stream s, Tensor runningVar, long[] shape) {
        float[] var;
        try (runningVar) {
            var = runningVar.toFloatArray();
        }
        double[] r = range("bn_weight_factor");
        float[] w = new float[var.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (s.uniformDouble(r[0], r[1]) * Math.sqrt(var[i]));
        }
        return Tensor.of(w, shape);
    }

    /**
     * The checksum the fixtures record per tensor: {@code sum over i of bits(element i) * (i + 1) mod 2^64}, of
     * float32 bits or an int64's value.
     *
     * @param t a float32 or int64 tensor
     * @return the checksum
     */
    public static long checksum(Tensor t) {
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
