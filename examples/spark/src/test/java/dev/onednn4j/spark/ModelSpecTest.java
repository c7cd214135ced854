package dev.onednn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.onednn4j.nn.Precision;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** The spec checks its fields and travels to executors intact. */
class ModelSpecTest {

    @Test
    void defaultsAndWithers() {
        ModelSpec s = ModelSpec.of("ResNet18", 1000, "w.safetensors");
        assertEquals(new ModelSpec("resnet18", 1000, 1.0, "w.safetensors", 8, 224, 224, Precision.FP32, 1), s);
        assertEquals(3 * 224 * 224, s.rowLength());
        ModelSpec t = s.withBatchSize(4)
                .withSize(96, 128)
                .withPrecision(Precision.BF16)
                .withThreadsPerTask(2);
        assertEquals(new ModelSpec("resnet18", 1000, 1.0, "w.safetensors", 4, 96, 128, Precision.BF16, 2), t);
    }

    @Test
    void badFieldsAreRefused() {
        assertEquals(
                "unknown model vgg16: resnet18, resnet34, resnet50 or mobilenet_v2",
                assertThrows(IllegalArgumentException.class, () -> ModelSpec.of("vgg16", 10, "w"))
                        .getMessage());
        assertEquals(
                "batchSize must be at least 1, got 0",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> ModelSpec.of("resnet18", 10, "w").withBatchSize(0))
                        .getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> ModelSpec.of("resnet18", 10, "w").withWidthMult(0.5));
        assertEquals(
                0.5, ModelSpec.of("mobilenet_v2", 10, "w").withWidthMult(0.5).widthMult());
    }

    @Test
    void serializesAsSparkShipsIt() throws IOException, ClassNotFoundException {
        ModelSpec s = ModelSpec.of("mobilenet_v2", 10, "/x/w.safetensors").withWidthMult(0.5);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(s);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(s, in.readObject());
        }
    }
}
