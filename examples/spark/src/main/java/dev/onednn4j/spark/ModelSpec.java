package dev.onednn4j.spark;

import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.vision.Models;
import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * Which model an executor runs, and how: the torchvision architecture, its safetensors state dict, the input shape
 * it is compiled for (batch, 3, height, width), the precision and the oneDNN threads each Spark task uses. The key
 * of the per-executor model cache ({@link ExecutorModels}): equal specs share one compiled model in a JVM.
 * Serializable, so a job ships it to its executors inside the task closures.
 *
 * @param model          {@code resnet18}, {@code resnet34}, {@code resnet50} or {@code mobilenet_v2}
 * @param numClasses     the outputs of the final layer, as in the state dict
 * @param widthMult      MobileNetV2's width multiplier (1.0 for the standard network; must be 1.0 for a ResNet)
 * @param weights        the safetensors file, with PyTorch's parameter names: a path every executor can read, or
 *                       the name of a file shipped with {@code spark-submit --files} (found by
 *                       {@code SparkFiles.get})
 * @param batchSize      images per forward call; a partition's last batch is padded with zeros to this size
 * @param height         input height in pixels
 * @param width          input width in pixels
 * @param precision      the arithmetic ({@link Precision#FP32}, {@link Precision#BF16} or {@link Precision#AUTO})
 * @param threadsPerTask oneDNN (OpenMP) threads each Spark task uses; the job sets {@code spark.task.cpus} to it
 *                       (see {@link ThreadBudget})
 */
public record ModelSpec(
        String model,
        int numClasses,
        double widthMult,
        String weights,
        int batchSize,
        int height,
        int width,
        Precision precision,
        int threadsPerTask)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * Checks every field.
     *
     * @throws IllegalArgumentException if a field is out of range or the model unknown
     */
    public ModelSpec {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(precision, "precision");
        model = model.toLowerCase(Locale.ROOT);
        switch (model) {
            case "resnet18", "resnet34", "resnet50" -> {
                if (widthMult != 1.0) {
                    throw new IllegalArgumentException(
                            "widthMult is MobileNetV2's; a ResNet takes 1.0, got " + widthMult);
                }
            }
            case "mobilenet_v2" -> {
                if (!(widthMult > 0) || Double.isInfinite(widthMult)) {
                    throw new IllegalArgumentException("widthMult must be positive and finite, got " + widthMult);
                }
            }
            default ->
                throw new IllegalArgumentException(
                        "unknown model " + model + ": resnet18, resnet34, resnet50 or mobilenet_v2");
        }
        positive("numClasses", numClasses);
        positive("batchSize", batchSize);
        positive("height", height);
        positive("width", width);
        positive("threadsPerTask", threadsPerTask);
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + value);
        }
    }

    /**
     * A spec with the defaults: width multiplier 1.0, batch 8, 224x224, float32, one thread per task.
     *
     * @param model      {@code resnet18}, {@code resnet34}, {@code resnet50} or {@code mobilenet_v2}
     * @param numClasses the outputs of the final layer
     * @param weights    the safetensors file (see the class documentation)
     * @return a new spec
     */
    public static ModelSpec of(String model, int numClasses, String weights) {
        return new ModelSpec(model, numClasses, 1.0, weights, 8, 224, 224, Precision.FP32, 1);
    }

    /**
     * This spec with another batch size.
     *
     * @param n images per forward call
     * @return a new spec
     */
    public ModelSpec withBatchSize(int n) {
        return new ModelSpec(model, numClasses, widthMult, weights, n, height, width, precision, threadsPerTask);
    }

    /**
     * This spec with another input size.
     *
     * @param h height in pixels
     * @param w width in pixels
     * @return a new spec
     */
    public ModelSpec withSize(int h, int w) {
        return new ModelSpec(model, numClasses, widthMult, weights, batchSize, h, w, precision, threadsPerTask);
    }

    /**
     * This spec with another precision.
     *
     * @param p the arithmetic
     * @return a new spec
     */
    public ModelSpec withPrecision(Precision p) {
        return new ModelSpec(model, numClasses, widthMult, weights, batchSize, height, width, p, threadsPerTask);
    }

    /**
     * This spec with another thread count per task.
     *
     * @param threads oneDNN threads per Spark task
     * @return a new spec
     */
    public ModelSpec withThreadsPerTask(int threads) {
        return new ModelSpec(model, numClasses, widthMult, weights, batchSize, height, width, precision, threads);
    }

    /**
     * This spec with MobileNetV2's width multiplier.
     *
     * @param mult the factor on every layer's channels
     * @return a new spec
     */
    public ModelSpec withWidthMult(double mult) {
        return new ModelSpec(model, numClasses, mult, weights, batchSize, height, width, precision, threadsPerTask);
    }

    /**
     * Floats in one input row: 3 x height x width, in (C, H, W) order.
     *
     * @return the length a float-array row must have
     */
    public int rowLength() {
        return 3 * height * width;
    }

    /**
     * The untrained network of this architecture, to load the state dict into.
     *
     * @return a new module in training mode, owned by the caller
     */
    public Module newModule() {
        return switch (model) {
            case "resnet18" -> Models.resnet18(numClasses);
            case "resnet34" -> Models.resnet34(numClasses);
            case "resnet50" -> Models.resnet50(numClasses);
            default -> Models.mobilenetV2(numClasses, widthMult);
        };
    }

    /**
     * How the model is compiled: the (batch, 3, height, width) contiguous input a row's (C, H, W) floats are copied
     * into as they are, the precision and the threads per call.
     *
     * @return the compile options
     */
    public CompileOptions compileOptions() {
        return CompileOptions.forInput(batchSize, 3, height, width)
                .inputFormat(MemoryFormat.CONTIGUOUS)
                .precision(precision)
                .numThreads(threadsPerTask);
    }
}
