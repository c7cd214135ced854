package dev.onednn4j.examples;

import dev.onednn4j.OneDnn;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Classifies an image with any ONNX image classifier (one input (N, 3, H, W), one output (N, classes)), as ONNX
 * Runtime would run the same file: torchvision's ImageNet preprocessing at the model's input size (224 where the
 * file leaves it dynamic), the top classes with their probabilities, and their names where the file carries them
 * (a metadata property {@code labels}, {@code classes} or {@code class_names}: one name per line, or separated by
 * commas).
 *
 * <pre>
 * OnnxClassify model.onnx image.jpg [top]
 * </pre>
 */
public final class OnnxClassify {
    private OnnxClassify() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: OnnxClassify model.onnx image.(png|jpg) [top, default 5]");
            System.exit(2);
            return;
        }
        System.out.printf(Locale.ROOT, "oneDNN %s, %s%n", OneDnn.version(), OneDnn.cpuIsa());
        int top = args.length == 3 ? Integer.parseInt(args[2]) : 5;
        for (ClassifyImage.Prediction p : classify(Path.of(args[0]), Path.of(args[1]), top)) {
            System.out.printf(Locale.ROOT, "%-40s %5.1f%%  (class %d)%n", p.label(), 100 * p.probability(), p.index());
        }
    }

    /** Runs the model on the image and returns its {@code top} classes, most probable first. */
    static List<ClassifyImage.Prediction> classify(Path model, Path image, int top) throws IOException {
        try (OnnxModel net = OnnxModel.load(model)) {
            OnnxModel.ValueInfo in = net.inputs().get(0);
            long[] s = in.shape();
            if (net.inputs().size() != 1 || s == null || s.length != 4 || (s[1] >= 0 && s[1] != 3)) {
                throw new IllegalArgumentException("OnnxClassify takes a model of one (N, 3, H, W) image input; this "
                        + "one takes " + net.inputs());
            }
            int size = (int) (s[2] > 0 ? s[2] : 224);
            if (s[3] > 0 && s[3] != size) {
                throw new IllegalArgumentException("OnnxClassify takes square inputs; the model takes " + in);
            }
            List<String> labels = labels(net);
            float[] logits;
            try (Tensor x = ClassifyImage.preprocess(image, size);
                    Tensor y = net.forward(x)) { // (1, 3, size, size) -> (1, classes)
                logits = y.toFloatArray();
            }
            double[] p = ClassifyImage.softmax(logits);
            List<ClassifyImage.Prediction> out = new ArrayList<>();
            IntStream.range(0, p.length)
                    .boxed()
                    .sorted((a, b) -> Double.compare(p[b], p[a]))
                    .limit(top)
                    .forEach(i -> out.add(
                            new ClassifyImage.Prediction(i, i < labels.size() ? labels.get(i) : "class " + i, p[i])));
            return out;
        }
    }

    /** The class names the file carries in its metadata, or none. */
    static List<String> labels(OnnxModel net) {
        for (String key : new String[] {"labels", "classes", "class_names"}) {
            String v = net.metadata().get(key);
            if (v != null) {
                return Arrays.stream(v.contains("\n") ? v.split("\n") : v.split(","))
                        .map(String::strip)
                        .toList();
            }
        }
        return List.of();
    }
}
