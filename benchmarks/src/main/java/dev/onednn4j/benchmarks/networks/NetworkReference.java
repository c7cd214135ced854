package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.Models;
import dev.onednn4j.vision.SeededWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * What every whole-network benchmark checks its answer against in {@code @Setup}, so that none can time a wrong
 * network: the input of {@code <model>-io.safetensors} (the first {@code batch} of its 8 images) and PyTorch's
 * float32 logits for it, plus the seeded generator that gave the exported weights (the model fixtures' generator
 * and seed, {@link SeededWeights}), from which onednn4j's model is built.
 *
 * <h2>The tolerance</h2>
 * {@code max |logit - PyTorch's logit| <= 1e-3 * max |PyTorch's logit|}. The implementations compute in float32 in
 * their own summation orders (ONNX Runtime and TorchScript with BatchNorm folded into the convolutions), each about
 * 1e-6 of the logits' scale from the exact result (ModelsTest measures onednn4j at 2.6e-7 to 1.2e-6 against
 * PyTorch's float64 logits), so 1e-3 leaves a margin of some 1000 for rounding; while ModelsTest shows that every
 * plausible porting mistake (a dropped BatchNorm, a wrong eps, an off-by-one pooling window, a residual added after
 * the ReLU) moves the logits by 1.7e-2 to 2.4 of their scale: 17 times the tolerance or more.
 */
public final class NetworkReference {

    /** Largest allowed {@code max |error| / max |PyTorch's logit|}: see the class comment. */
    public static final double TOLERANCE = 1e-3;

    static final long CLASSES = 1000;

    private final String model;
    private final int batch;
    private final float[] input;
    private final float[] logits;
    private final Map<String, String> metadata;

    NetworkReference(String model, int batch, float[] input, float[] logits, Map<String, String> metadata) {
        this.model = model;
        this.batch = batch;
        this.input = input;
        this.logits = logits;
        this.metadata = metadata;
    }

    static NetworkReference load(NetworkExports exports, String model, int batch) throws IOException {
        Path io = exports.io(model);
        try (SafeTensors f = SafeTensors.load(io)) {
            Map<String, Tensor> t = f.tensors();
            Tensor x = t.get("input");
            Tensor y = t.get("output_batch" + batch);
            if (x == null || y == null || x.dim() != 4 || x.shape()[0] < batch) {
                throw new IOException(io + " holds no input of " + batch + " images and PyTorch's output for it: "
                        + "delete it and export again (scripts/make-torch-fixtures --export)");
            }
            long perImage = x.numel() / x.shape()[0];
            float[] in = Arrays.copyOf(x.toFloatArray(), Math.toIntExact(batch * perImage));
            if (!Arrays.equals(y.shape(), new long[] {batch, CLASSES})) {
                throw new IOException(io + ": output_batch" + batch + " is " + Arrays.toString(y.shape()));
            }
            return new NetworkReference(model, batch, in, y.toFloatArray(), f.metadata());
        }
    }

    public String model() {
        return model;
    }

    public int batch() {
        return batch;
    }

    /** {@code (batch, 3, 224, 224)}. */
    public long[] inputShape() {
        return new long[] {batch, 3, 224, 224};
    }

    /** The input, NCHW row-major: the array itself, which callers only read. */
    public float[] input() {
        return input;
    }

    /**
     * onednn4j's eager model for this reference: {@code Models.resnet18()} etc. with the generator's weights and
     * BatchNorm statistics (the exported model's), strictly loaded by PyTorch's names, in eval mode.
     */
    public Module build() {
        Module net = switch (model) {
            case "resnet18" -> Models.resnet18();
            case "resnet50" -> Models.resnet50();
            case "mobilenet_v2" -> Models.mobilenetV2();
            default -> throw new IllegalArgumentException("no such model: " + model);
        };
        try {
            Map<String, Tensor> weights = SeededWeights.of(metadata).stateDict(net.stateDict());
            try {
                net.loadStateDict(weights, true);
            } finally {
                weights.values().forEach(Tensor::close);
            }
            net.eval();
            return net;
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /**
     * Checks an implementation's logits, {@code (batch, 1000)} row-major, against PyTorch's.
     *
     * @throws IllegalStateException naming the implementation, model, batch and the error, when beyond
     *     {@link #TOLERANCE}
     */
    public void check(String implementation, float[] got) {
        check(implementation, got, TOLERANCE);
    }

    /**
     * As {@link #check(String, float[])} with another tolerance (bf16 computes to about 3 significant digits).
     *
     * @throws IllegalStateException when the logits differ by more than {@code tolerance} of their scale
     */
    public void check(String implementation, float[] got, double tolerance) {
        String what = implementation + " on " + model + ", batch " + batch;
        if (got.length != logits.length) {
            throw new IllegalStateException(what + ": " + got.length + " logits, expected " + logits.length);
        }
        double error = relativeError(got, logits);
        if (!(error <= tolerance)) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "%s: the logits differ from PyTorch's by %.3g of their scale (max |logit| %.3g), beyond the "
                            + "tolerance %.0e: this implementation computes another network, so it is not timed",
                    what,
                    error,
                    maxAbs(logits),
                    tolerance));
        }
        System.out.printf(Locale.ROOT, "%s: logits within %.2e of PyTorch's scale%n", what, error);
    }

    /** {@code max |got - expected| / max |expected|}; NaN anywhere, or an all-zero reference, gives NaN. */
    static double relativeError(float[] got, float[] expected) {
        double err = 0;
        for (int i = 0; i < got.length; i++) {
            err = Math.max(err, Math.abs((double) got[i] - expected[i])); // Math.max keeps a NaN
        }
        double scale = maxAbs(expected);
        return scale > 0 ? err / scale : Double.NaN;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float f : v) {
            m = Math.max(m, Math.abs(f));
        }
        return m;
    }
}
