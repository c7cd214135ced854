package dev.onednn4j.nn;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How {@link Module#compile(CompileOptions)} compiles a module: the input shape it is traced and run with, the
 * memory formats of input and output, the {@link Precision}, the OpenMP threads per call. Immutable: each setter
 * returns a new instance.
 *
 * <pre>{@code
 * CompileOptions o = CompileOptions.forInput(8, 3, 224, 224)
 *         .inputFormat(MemoryFormat.CHANNELS_LAST)
 *         .precision(Precision.AUTO)
 *         .numThreads(2);
 * }</pre>
 */
public final class CompileOptions {
    /** Kernel choice by measurement is off unless asked for: see {@link #tuneKernels(boolean)}. */
    static final boolean TUNE_DEFAULT = false;

    private final long[] inputShape;
    private final MemoryFormat inputFormat;
    private final MemoryFormat outputFormat;
    private final Precision precision;
    private final int threads;
    private final boolean tuneKernels;
    private final Iterable<Tensor> samples;
    private final Calibration calibration;
    private final CalibrationMethod method;

    private CompileOptions(
            long[] inputShape,
            MemoryFormat inputFormat,
            MemoryFormat outputFormat,
            Precision precision,
            int threads,
            boolean tuneKernels,
            Iterable<Tensor> samples,
            Calibration calibration,
            CalibrationMethod method) {
        this.inputShape = inputShape;
        this.inputFormat = inputFormat;
        this.outputFormat = outputFormat;
        this.precision = precision;
        this.threads = threads;
        this.tuneKernels = tuneKernels;
        this.samples = samples;
        this.calibration = calibration;
        this.method = method;
    }

    /**
     * Options for inputs of exactly {@code shape}: contiguous (NCHW) input and output, float32, the module's thread
     * count.
     *
     * @param shape the (N, C, H, W) input shape, every size positive
     * @return new options
     * @throws IllegalArgumentException if {@code shape} is not 4-D or has a size below 1
     */
    public static CompileOptions forInput(long... shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length != 4 || Arrays.stream(shape).anyMatch(s -> s < 1)) {
            throw new IllegalArgumentException(
                    "compile takes a 4-D (N, C, H, W) input shape with every size >= 1, got " + Arrays.toString(shape));
        }
        return new CompileOptions(
                shape.clone(),
                MemoryFormat.CONTIGUOUS,
                null,
                Precision.FP32,
                0,
                TUNE_DEFAULT,
                null,
                null,
                CalibrationMethod.PERCENTILE);
    }

    /**
     * The memory format of the inputs the compiled module takes.
     *
     * @param format contiguous (NCHW) or channels-last (NHWC)
     * @return new options; the output format follows the input's unless set
     */
    public CompileOptions inputFormat(MemoryFormat format) {
        return new CompileOptions(
                inputShape,
                Objects.requireNonNull(format, "format"),
                outputFormat,
                precision,
                threads,
                tuneKernels,
                samples,
                calibration,
                method);
    }

    /**
     * The memory format of a 4-D output (other outputs are contiguous).
     *
     * @param format contiguous (NCHW) or channels-last (NHWC)
     * @return new options
     */
    public CompileOptions outputFormat(MemoryFormat format) {
        return new CompileOptions(
                inputShape,
                inputFormat,
                Objects.requireNonNull(format, "format"),
                precision,
                threads,
                tuneKernels,
                samples,
                calibration,
                method);
    }

    /**
     * The arithmetic.
     *
     * @param precision {@link Precision#FP32} (the default), {@link Precision#BF16}, {@link Precision#AUTO}, or
     *     {@link Precision#INT8} (with a {@linkplain #calibration(Iterable) calibration})
     * @return new options
     */
    public CompileOptions precision(Precision precision) {
        return new CompileOptions(
                inputShape,
                inputFormat,
                outputFormat,
                Objects.requireNonNull(precision, "precision"),
                threads,
                tuneKernels,
                samples,
                calibration,
                method);
    }

    /**
     * The OpenMP threads each call uses, set on the calling thread before the module's primitives are created and
     * run (as {@link Module#numThreads(int)}).
     *
     * @param threads at least 1, or 0 for the module's own setting
     * @return new options
     * @throws IllegalArgumentException if {@code threads} is negative
     */
    public CompileOptions numThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException(
                    "the number of threads must be >= 1, or 0 for the module's setting, got " + threads);
        }
        return new CompileOptions(
                inputShape, inputFormat, outputFormat, precision, threads, tuneKernels, samples, calibration, method);
    }

    /**
     * Whether to choose each convolution's and linear layer's kernel by measurement: of the implementations oneDNN
     * offers for it (with the same layouts), time each in interleaved rounds and keep the fastest if it beats oneDNN's
     * first choice by more than 5%. Off by default: on whole networks it measured no gain (docs/compiled-inference.md);
     * it is there for CPUs where oneDNN's ranking is off. Choices are saved in
     * {@code kernel-choices.txt} beside the native library (or the file {@code -Donednn4j.kernelCache}
     * names; {@code off} keeps none), keyed by oneDNN version, CPU ISA, threads and the primitive, so a second JVM
     * compiling the same network times nothing.
     *
     * @param tune true to measure; the default is {@value #TUNE_DEFAULT}, oneDNN's own first choice
     * @return new options
     */
    public CompileOptions tuneKernels(boolean tune) {
        return new CompileOptions(
                inputShape, inputFormat, outputFormat, precision, threads, tune, samples, calibration, method);
    }

    /**
     * Representative inputs an {@link Precision#INT8} compile calibrates on: each quantized activation's range is
     * observed over them (in float32, at compile time) and its int8 step chosen by {@link #calibrationMethod}. Any
     * batch size; each image must have the compiled input's channels, height and width. A few hundred images
     * like the ones the service will see are typical; they are read when {@code compile} runs, not kept.
     *
     * @param samples float32 (N, C, H, W) tensors, in any memory format
     * @return new options; any saved {@link #calibration(Calibration)} set before is dropped
     */
    public CompileOptions calibration(Iterable<Tensor> samples) {
        return new CompileOptions(
                inputShape,
                inputFormat,
                outputFormat,
                precision,
                threads,
                tuneKernels,
                Objects.requireNonNull(samples, "samples"),
                null,
                method);
    }

    /**
     * A calibration saved from an earlier {@link Precision#INT8} compile of the same module and image size
     * ({@link CompiledModule#calibration()}): the same int8 steps, no samples.
     *
     * @param saved the calibration
     * @return new options; any samples set before are dropped
     */
    public CompileOptions calibration(Calibration saved) {
        return new CompileOptions(
                inputShape,
                inputFormat,
                outputFormat,
                precision,
                threads,
                tuneKernels,
                null,
                Objects.requireNonNull(saved, "calibration"),
                method);
    }

    /**
     * How thresholds are chosen from the samples.
     *
     * @param method {@link CalibrationMethod#PERCENTILE} unless set
     * @return new options
     */
    public CompileOptions calibrationMethod(CalibrationMethod method) {
        return new CompileOptions(
                inputShape,
                inputFormat,
                outputFormat,
                precision,
                threads,
                tuneKernels,
                samples,
                calibration,
                Objects.requireNonNull(method, "method"));
    }

    /**
     * The calibration samples.
     *
     * @return the samples set, or null
     */
    public Iterable<Tensor> calibrationSamples() {
        return samples;
    }

    /**
     * The saved calibration.
     *
     * @return the calibration set, or null
     */
    public Calibration savedCalibration() {
        return calibration;
    }

    /**
     * How thresholds are chosen.
     *
     * @return {@link CalibrationMethod#PERCENTILE} unless set
     */
    public CalibrationMethod calibrationMethod() {
        return method;
    }

    /**
     * Whether kernels are chosen by measurement.
     *
     * @return false unless set
     */
    public boolean tuneKernels() {
        return tuneKernels;
    }

    /**
     * The input shape.
     *
     * @return a copy of the (N, C, H, W) shape
     */
    public long[] inputShape() {
        return inputShape.clone();
    }

    /**
     * The input's memory format.
     *
     * @return contiguous unless set
     */
    public MemoryFormat inputFormat() {
        return inputFormat;
    }

    /**
     * The memory format of a 4-D output.
     *
     * @return the input's format unless set
     */
    public MemoryFormat outputFormat() {
        return outputFormat == null ? inputFormat : outputFormat;
    }

    /**
     * The precision.
     *
     * @return {@link Precision#FP32} unless set
     */
    public Precision precision() {
        return precision;
    }

    /**
     * The thread count.
     *
     * @return the OpenMP threads per call, or 0 for the module's setting
     */
    public int numThreads() {
        return threads;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "CompileOptions(input %s %s, output %s, %s, threads %s%s%s)",
                Arrays.toString(inputShape),
                inputFormat,
                outputFormat(),
                precision,
                threads == 0 ? "of the module" : Integer.toString(threads),
                tuneKernels ? ", kernels tuned" : "",
                precision != Precision.INT8
                        ? ""
                        : calibration != null
                                ? ", " + calibration
                                : samples != null ? ", calibrated on samples by " + method : ", not calibrated");
    }
}
