package dev.onednn4j.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model fixtures of scripts/make-torch-fixtures ({@code --only models}): torchvision models whose weights come
 * from a documented seeded generator that the script and this class both implement, so only seeds and PyTorch's
 * outputs are committed. The generator is {@link SeededWeights} (its rule per key is documented there and in the
 * script's docstring; the constants are in each file's metadata).
 */
final class TorchvisionFixtures {
    private TorchvisionFixtures() {}

    /** One fixture file: metadata and PyTorch's float64 logits. */
    record Fixture(
            String name,
            long seed,
            long[] inputShape,
            JsonObject generator,
            JsonObject checksums,
            String keys,
            String repr,
            Map<String, String> metadata,
            double[] output,
            long[] outputShape) {}

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
            return new Fixture(
                    name,
                    Long.parseLong(m.get("seed")),
                    inputShape,
                    JsonParser.parseString(m.get("generator")).getAsJsonObject(),
                    JsonParser.parseString(m.get("checksums")).getAsJsonObject(),
                    m.get("keys"),
                    m.get("repr"),
                    m,
                    out.toDoubleArray(),
                    out.shape());
        }
    }

    /** The generator's state dict for {@code like}'s keys and shapes, new tensors the caller closes. */
    static Map<String, Tensor> stateDict(Map<String, Tensor> like, long seed, JsonObject generator) {
        return new SeededWeights(seed, generator.toString()).stateDict(like);
    }

    /** The generated input. */
    static Tensor input(Fixture f) {
        return new SeededWeights(f.seed(), f.generator().toString()).input(f.inputShape());
    }

    static long checksum(Tensor t) {
        return SeededWeights.checksum(t);
    }
}
