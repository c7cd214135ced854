package dev.onednn4j.examples;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.Models;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;

/**
 * Classifies an image with a torchvision classifier whose weights were saved from PyTorch as safetensors
 * ({@code safetensors.torch.save_file(model.state_dict(), "resnet18.safetensors")}), preprocessing it as
 * torchvision's ImageNet models expect: resize the shorter side to 256, center-crop 224x224, scale to [0, 1],
 * normalize with ImageNet's mean and standard deviation.
 *
 * <pre>
 * ClassifyImage --weights resnet18.safetensors --image cat.jpg [--model resnet18|resnet50|mobilenet_v2]
 *               [--classes 1000] [--labels imagenet_classes.txt] [--top 5]
 * </pre>
 */
public final class ClassifyImage {
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private ClassifyImage() {}

    /** The command line, parsed. */
    record Options(Path weights, Path image, String model, int classes, Path labels, int top) {
        static Options parse(String... args) {
            Path weights = null;
            Path image = null;
            String model = "resnet18";
            int classes = 1000;
            Path labels = null;
            int top = 5;
            for (int i = 0; i < args.length; i++) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[++i];
                switch (args[i - 1]) {
                    case "--weights" -> weights = Path.of(value);
                    case "--image" -> image = Path.of(value);
                    case "--model" -> model = value;
                    case "--classes" -> classes = Integer.parseInt(value);
                    case "--labels" -> labels = Path.of(value);
                    case "--top" -> top = Integer.parseInt(value);
                    default -> throw new IllegalArgumentException("unknown option " + args[i - 1]);
                }
            }
            if (weights == null || image == null) {
                throw new IllegalArgumentException("usage: ClassifyImage --weights FILE.safetensors --image FILE "
                        + "[--model resnet18|resnet50|mobilenet_v2] [--classes N] [--labels FILE] [--top K]");
            }
            return new Options(weights, image, model, classes, labels, top);
        }
    }

    /** One line of the answer. */
    record Prediction(int index, String label, double probability) {}

    public static void main(String[] args) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        System.out.printf(Locale.ROOT, "oneDNN %s, %s%n", OneDnn.version(), OneDnn.cpuIsa());
        for (Prediction p : classify(o)) {
            System.out.printf(Locale.ROOT, "%-40s %5.1f%%  (class %d)%n", p.label(), 100 * p.probability(), p.index());
        }
    }

    /** Runs the model on the image and returns the top classes, most probable first. */
    static List<Prediction> classify(Options o) throws IOException {
        List<String> labels = o.labels() == null ? List.of() : Files.readAllLines(o.labels());
        try (Module net = model(o.model(), o.classes());
                Tensor x = preprocess(o.image())) {
            net.loadSafeTensors(o.weights(), true); // PyTorch's names, strictly
            net.eval();
            float[] logits;
            try (Tensor y = net.forward(x)) { // (1, 3, 224, 224) -> (1, classes)
                logits = y.toFloatArray();
            }
            double[] p = softmax(logits);
            List<Prediction> out = new ArrayList<>();
            IntStream.range(0, p.length)
                    .boxed()
                    .sorted((a, b) -> Double.compare(p[b], p[a]))
                    .limit(o.top())
                    .forEach(i -> out.add(new Prediction(i, i < labels.size() ? labels.get(i) : "class " + i, p[i])));
            return out;
        }
    }

    static Module model(String name, int classes) {
        return switch (name) {
            case "resnet18" -> Models.resnet18(classes);
            case "resnet50" -> Models.resnet50(classes);
            case "mobilenet_v2" -> Models.mobilenetV2(classes);
            default -> throw new IllegalArgumentException("unknown model " + name);
        };
    }

    /** torchvision's ImageNet preprocessing, into a (1, 3, 224, 224) channels-last tensor. */
    static Tensor preprocess(Path file) throws IOException {
        return preprocess(file, 224);
    }

    /**
     * torchvision's ImageNet preprocessing for a {@code size} x {@code size} input (resize the shorter side to
     * {@code size * 256 / 224}, center-crop), into a (1, 3, size, size) channels-last tensor.
     */
    static Tensor preprocess(Path file, int size) throws IOException {
        BufferedImage image = ImageIO.read(file.toFile());
        if (image == null) {
            throw new IOException(file + ": not an image ImageIO can read (PNG, JPEG, BMP, GIF)");
        }
        double scale = Math.round(size * 256.0 / 224) / (double) Math.min(image.getWidth(), image.getHeight());
        int w = Math.max(size, (int) Math.round(image.getWidth() * scale));
        int h = Math.max(size, (int) Math.round(image.getHeight() * scale));
        BufferedImage resized = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = resized.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, 0, 0, w, h, null);
        g.dispose();
        int left = (w - size) / 2;
        int top = (h - size) / 2;
        float[] chw = new float[3 * size * size]; // (C, H, W), as Tensor.of reads it
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int rgb = resized.getRGB(left + x, top + y);
                for (int c = 0; c < 3; c++) {
                    float v = ((rgb >> (16 - 8 * c)) & 0xff) / 255f;
                    chw[(c * size + y) * size + x] = (v - MEAN[c]) / STD[c];
                }
            }
        }
        return Tensor.of(chw, MemoryFormat.CHANNELS_LAST, 1, 3, size, size);
    }

    static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
