package dev.onednn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnnxClassify} on the library's MobileNetV2 ONNX fixture (10 classes, 32x32 input): its top classes are the
 * model's own ranking of the preprocessed image, in a fresh JVM as a user runs it.
 */
class OnnxClassifyTest {
    static final Path MODEL = Path.of("../java/src/test/resources/onnx/mobilenet_v2.onnx");

    @TempDir
    Path dir;

    Path image() throws Exception {
        Path image = dir.resolve("stripes.png");
        BufferedImage img = new BufferedImage(80, 60, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, ((x / 8) % 2 == 0 ? 0xd04020 : 0x20a0e0) ^ (y * 3));
            }
        }
        ImageIO.write(img, "png", image.toFile());
        return image;
    }

    @Test
    void ranksTheModelsOwnLogits() throws Exception {
        assertTrue(Files.isRegularFile(MODEL), "run from the examples module: " + MODEL.toAbsolutePath());
        Path image = image();
        List<ClassifyImage.Prediction> top = OnnxClassify.classify(MODEL, image, 3);
        float[] logits;
        try (OnnxModel m = OnnxModel.load(MODEL);
                Tensor x = ClassifyImage.preprocess(image, 32);
                Tensor y = m.forward(x)) {
            logits = y.toFloatArray();
        }
        double[] p = ClassifyImage.softmax(logits);
        assertEquals(3, top.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(p[top.get(i).index()], top.get(i).probability(), 0);
            assertEquals("class " + top.get(i).index(), top.get(i).label());
            if (i > 0) {
                assertTrue(top.get(i - 1).probability() >= top.get(i).probability());
            }
        }
        for (double q : p) {
            assertTrue(q <= top.get(0).probability());
        }

        List<String> command = new ArrayList<>(List.of(
                ClassifyImageTest.java(),
                "--enable-native-access=ALL-UNNAMED",
                "-Djava.awt.headless=true",
                "-cp",
                System.getProperty("java.class.path"),
                OnnxClassify.class.getName(),
                MODEL.toString(),
                image.toString(),
                "3"));
        Path err = dir.resolve("stderr.txt");
        Process proc = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String stdout = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "finished in time: " + stdout);
        assertEquals(0, proc.exitValue(), stdout + Files.readString(err));
        List<String> out = stdout.lines().toList();
        assertTrue(out.get(0).startsWith("oneDNN 3."), out.toString());
        List<String> expected = new ArrayList<>();
        for (ClassifyImage.Prediction q : top) {
            expected.add(String.format(
                    Locale.ROOT, "%-40s %5.1f%%  (class %d)", q.label(), 100 * q.probability(), q.index()));
        }
        assertEquals(expected, out.subList(1, out.size()));
    }

    @Test
    void refusesAModelThatIsNotAnImageClassifier() throws Exception {
        Path image = image();
        Path notAClassifier = Path.of("../java/src/test/resources/onnx/multi_output.onnx");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> OnnxClassify.classify(notAClassifier, image, 3));
        assertTrue(e.getMessage().contains("forward(Tensor) runs a model of one input and one output"), e.getMessage());
    }
}
