package dev.onednn4j.nn;

import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.exec.Program;
import dev.onednn4j.internal.graph.Calibrator;
import dev.onednn4j.internal.graph.Compiler;
import dev.onednn4j.internal.graph.Trace;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.StampedLock;

/**
 * A module compiled for one input shape by {@link Module#compile(CompileOptions)}: its forward pass traced once (as
 * {@code torch.jit.trace} does), rewritten (BatchNorm folded into convolutions; activations and residual additions
 * fused into the convolution before them as oneDNN post-ops; dropout and identity gone) and planned onto oneDNN
 * primitives whose activations stay in the layouts oneDNN picks, in buffers planned once by lifetime.
 *
 * <pre>{@code
 * try (Module net = Models.resnet50().eval();
 *      CompiledModule fast = net.compile(CompileOptions.forInput(8, 3, 224, 224));
 *      Tensor x = Tensor.zeros(8, 3, 224, 224);
 *      Tensor out = Tensor.zeros(8, 1000)) {
 *     fast.forward(x, out);              // allocates nothing per call
 *     System.out.println(fast);          // each fused step, its oneDNN implementation and layouts
 * }
 * }</pre>
 *
 * <p>What it computes: the source module's forward pass at compile time. The weights are copied (folded) when it
 * is compiled, as {@code torch.jit.freeze} does: later changes to the source module's parameters are not seen;
 * compile again. It owns its native memory (weights, one activation slab per concurrent call) and frees it on
 * {@link #close()}, which waits for running calls. Thread-safe: concurrent calls each use their own activation
 * buffers.
 *
 * <p>Results: float32 compiles agree with the source module within float32 rounding (another summation order);
 * bf16 ones within bf16's precision; int8 ones within what 8-bit steps chosen by calibration leave, a few percent of
 * the output's scale on torchvision's models (see {@link Precision} and {@link #calibration()}).
 */
public final class CompiledModule extends Module {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final Program program;
    private final long[] inputShape;
    private final long[] outputShape;
    private final MemoryFormat inputFormat;
    private final MemoryFormat outputFormat;
    private final Precision precision;
    private final String source;
    private final Calibration calibration;
    private final StampedLock lock = new StampedLock();

    private CompiledModule(
            Program program,
            long[] inputShape,
            long[] outputShape,
            MemoryFormat inputFormat,
            MemoryFormat outputFormat,
            Precision precision,
            String source,
            Calibration calibration) {
        this.program = program;
        this.calibration = calibration;
        this.inputShape = inputShape;
        this.outputShape = outputShape;
        this.inputFormat = inputFormat;
        this.outputFormat = outputShape.length == 4 ? outputFormat : MemoryFormat.CONTIGUOUS;
        this.precision = precision;
        this.source = source;
        eval();
    }

    /** Traces {@code module}'s forward pass on a tensor of the options' shape and compiles it. */
    static CompiledModule compile(Module module, CompileOptions options) {
        Objects.requireNonNull(options, "options");
        if (module.isTraining()) {
            throw new IllegalStateException(
                    module.getName() + " is in training mode: compile traces inference (BatchNorm "
                            + "with running statistics, no dropout), so call eval() first");
        }
        Precision precision = options.precision();
        boolean int8 = precision == Precision.INT8;
        if (!int8 && (options.calibrationSamples() != null || options.savedCalibration() != null)) {
            throw new IllegalArgumentException("a calibration is for Precision.INT8, but this compile is " + precision
                    + ": drop it, or compile with precision(Precision.INT8)");
        }
        Map<Object, String> names = new HashMap<>(); // modules are identities (Module.equals)
        module.namedModules().forEach((path, m) -> names.put(m, path.isEmpty() ? module.getName() : path));
        long[] shape = options.inputShape();
        int threads = options.numThreads() != 0 ? options.numThreads() : module.numThreads();
        Traced t = trace(module, names, options.inputFormat(), shape);
        boolean fromFile = int8 && Compiler.quantizesItself(t.trace());
        boolean bf16 = switch (precision) {
            case FP32 -> false;
            case BF16 -> true;
            // INT8: the steps that are not int8 run in bf16 where native, except in a model quantized in its file,
            // whose float steps (between its DequantizeLinear and QuantizeLinear nodes) are float32's
            case AUTO, INT8 -> Dnnl.nativeBf16() && !fromFile;
        };
        String title = String.format(
                Locale.ROOT,
                "compiled %s, input %s %s, %s",
                module.getName(),
                Arrays.toString(shape),
                options.inputFormat(),
                int8 ? (bf16 ? "int8, other steps bf16" : "int8, other steps fp32") : bf16 ? "bf16" : "fp32");
        Format inFormat = Format.valueOf(options.inputFormat().name());
        Format outFormat = Format.valueOf(options.outputFormat().name());
        Calibration calibration = null;
        Compiler.Quantization quantization = null;
        if (int8) {
            boolean given = options.calibrationSamples() != null || options.savedCalibration() != null;
            if (fromFile && given) {
                throw new IllegalArgumentException(module.getName() + " is quantized in its file (QuantizeLinear and "
                        + "DequantizeLinear nodes): Precision.INT8 uses the file's scales and zero points; drop the "
                        + "calibration");
            }
            if (!fromFile && !given) {
                throw new IllegalArgumentException("Precision.INT8 needs a calibration: "
                        + "CompileOptions.calibration(samples) with representative inputs, or calibration(Calibration)"
                        + " saved from an earlier INT8 compile (a model quantized in its file, QDQ, needs none)");
            }
            Map<String, Compiler.Range> ranges = new HashMap<>();
            if (given) {
                calibration = options.savedCalibration() != null
                        ? options.savedCalibration()
                        : calibrate(module, names, shape, threads, options, title);
                calibration.ranges().forEach((k, r) -> ranges.put(k, new Compiler.Range(r.min(), r.threshold())));
            }
            quantization = new Compiler.Quantization(ranges, !Dnnl.int8Vnni());
        }
        Program p = Compiler.compile(
                t.trace(),
                t.out(),
                shape,
                t.outShape(),
                new Compiler.Options(inFormat, outFormat, bf16, threads, options.tuneKernels(), quantization),
                title);
        return new CompiledModule(
                p,
                shape,
                t.outShape(),
                options.inputFormat(),
                options.outputFormat(),
                int8 ? Precision.INT8 : bf16 ? Precision.BF16 : Precision.FP32,
                module.getName(),
                calibration);
    }

    /** A finished trace of {@code module}'s forward pass on an input of {@code shape}, and its output. */
    @SuppressWarnings("ArrayRecordComponent") // a carrier from trace() to its caller
    private record Traced(Trace trace, Trace.Value out, long[] outShape) {}

    private static Traced trace(Module module, Map<Object, String> names, MemoryFormat format, long[] shape) {
        try (Tensor x = Tensor.zeros(format, shape);
                Trace t = Trace.begin(names)) {
            t.input(FACE.impl(x));
            try (Tensor y = module.forward(x)) {
                return new Traced(t, t.output(FACE.impl(y)), y.shape());
            }
        }
    }

    /**
     * Runs the samples, one image at a time, through a float32 compile of {@code module} that keeps every value an
     * int8 compile quantizes, and chooses their thresholds by the options' method (two passes over the samples for
     * the histogram methods).
     */
    private static Calibration calibrate(
            Module module, Map<Object, String> names, long[] shape, int threads, CompileOptions options, String title) {
        long[] image = {1, shape[1], shape[2], shape[3]};
        Traced t = trace(module, names, MemoryFormat.CONTIGUOUS, image);
        Compiler.Calibrating c = Compiler.calibration(
                t.trace(),
                t.out(),
                image,
                t.outShape(),
                new Compiler.Options(Format.CONTIGUOUS, Format.CONTIGUOUS, false, threads, false),
                title + ", calibrating");
        CalibrationMethod method = options.calibrationMethod();
        Calibrator.Method how = Calibrator.Method.valueOf(method.name());
        List<String> keys = c.keys();
        Calibrator.Observer[] observers = new Calibrator.Observer[keys.size()];
        Arrays.setAll(observers, i -> new Calibrator.Observer());
        try (Program p = c.program();
                Tensor in = Tensor.zeros(image);
                Tensor out = Tensor.zeros(t.outShape())) {
            int images = observe(options.calibrationSamples(), image, in, out, p, c.probes(), observers, false);
            if (images == 0) {
                throw new IllegalArgumentException("the calibration samples hold no image: give at least one");
            }
            if (how != Calibrator.Method.MINMAX) {
                observe(options.calibrationSamples(), image, in, out, p, c.probes(), observers, true);
            }
        }
        Map<String, Calibration.Range> ranges = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            Calibrator.Observer o = observers[i];
            ranges.put(keys.get(i), new Calibration.Range(o.min(), o.max(), o.threshold(how)));
        }
        return new Calibration(method, ranges);
    }

    /** One pass over the samples; returns the number of images. */
    private static int observe(
            Iterable<Tensor> samples,
            long[] image,
            Tensor in,
            Tensor out,
            Program p,
            int[] probes,
            Calibrator.Observer[] observers,
            boolean histogram) {
        int images = 0;
        int index = 0;
        int perImage = Math.toIntExact(image[1] * image[2] * image[3]);
        for (Tensor s : samples) {
            Objects.requireNonNull(s, "calibration sample " + index);
            long[] d = s.shape();
            if (s.dtype() != DType.FLOAT32
                    || d.length != 4
                    || d[1] != image[1]
                    || d[2] != image[2]
                    || d[3] != image[3]) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "calibration sample %d is %s %s: samples are float32 (N, %d, %d, %d) like the compiled input",
                        index,
                        s.dtype(),
                        Arrays.toString(d),
                        image[1],
                        image[2],
                        image[3]));
            }
            float[] all = s.toFloatArray(); // (N, C, H, W) in logical order, whatever the memory format
            for (int n = 0; n < d[0]; n++) {
                in.copyFrom(Arrays.copyOfRange(all, n * perImage, (n + 1) * perImage));
                float[][] values = p.runAndRead(FACE.impl(in), FACE.impl(out), probes);
                for (int k = 0; k < values.length; k++) {
                    if (histogram) {
                        observers[k].observeHistogram(values[k]);
                    } else {
                        observers[k].observeRange(values[k]);
                    }
                }
                images++;
            }
            index++;
        }
        return images;
    }

    /**
     * Computes the output into a new tensor, in the compiled output format.
     *
     * @param input float32, of the compiled shape and memory format
     * @return a new tensor owned by the caller
     * @throws IllegalArgumentException if {@code input} does not match what was compiled
     */
    @Override
    public Tensor forward(Tensor input) {
        checkInput(input);
        Tensor out = Tensor.empty(outputFormat, outputShape); // the program writes every element
        try {
            run(input, out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /**
     * Computes the output into {@code out}; allocates nothing once a call of this thread count has run.
     *
     * @param input float32, of the compiled shape and memory format
     * @param out   float32, of the output shape and compiled output format, sharing no memory with {@code input}
     * @throws IllegalArgumentException if either does not match what was compiled
     */
    public void forward(Tensor input, Tensor out) {
        checkInput(input);
        Objects.requireNonNull(out, "out");
        check("out", out, outputShape, outputFormat);
        if (out.isReadOnly()) {
            throw new IllegalArgumentException("out is read-only (" + out + "); it cannot receive the output");
        }
        var a = FACE.impl(input).data();
        var b = FACE.impl(out).data();
        if (a.address() < b.address() + b.byteSize() && b.address() < a.address() + a.byteSize()) {
            throw new IllegalArgumentException("out must not share memory with the input");
        }
        run(input, out);
    }

    /**
     * One step of the plan and its time: see {@link #profile(Tensor, int)}.
     *
     * @param step   the step as {@link #toString()} lists it: the layers fused into it, its layouts and its oneDNN
     *               implementation
     * @param millis milliseconds per call spent in it
     */
    public record StepTime(String step, double millis) {}

    /**
     * Where a call's time goes: runs {@code forward(input)} once to warm up, then {@code runs} times timing each
     * step of the plan (fused layers, reorders) on its own. Costs a little more than {@code forward}: the calling
     * thread waits for each step and reads the clock twice per step.
     *
     * @param input float32, of the compiled shape and memory format
     * @param runs  how many timed calls to average over, at least 1
     * @return one entry per step, in the order they run
     * @throws IllegalArgumentException if {@code input} does not match what was compiled, or {@code runs < 1}
     */
    public List<StepTime> profile(Tensor input, int runs) {
        checkInput(input);
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be at least 1, got " + runs);
        }
        try (Tensor out = Tensor.empty(outputFormat, outputShape)) {
            run(input, out);
            double[] ms;
            long stamp = lock.readLock();
            try {
                ensureOpen();
                ms = program.profile(FACE.impl(input), FACE.impl(out), runs);
            } finally {
                lock.unlockRead(stamp);
            }
            List<String> steps = program.stepDescriptions();
            List<StepTime> result = new ArrayList<>(ms.length);
            for (int i = 0; i < ms.length; i++) {
                result.add(new StepTime(steps.get(i), ms[i]));
            }
            return List.copyOf(result);
        }
    }

    private void run(Tensor input, Tensor out) {
        long stamp = lock.readLock();
        try {
            ensureOpen();
            program.run(FACE.impl(input), FACE.impl(out));
        } finally {
            lock.unlockRead(stamp);
        }
    }

    private void checkInput(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        check("input", input, inputShape, inputFormat);
    }

    private void check(String what, Tensor t, long[] shape, MemoryFormat format) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(what + " must be float32, got " + t.dtype());
        }
        if (!Arrays.equals(FACE.impl(t).shapeRef(), shape) || t.memoryFormat() != format) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s is %s %s, but this module was compiled for %s %s: compile another for that shape, or convert "
                            + "with toMemoryFormat",
                    what,
                    Arrays.toString(t.shape()),
                    t.memoryFormat(),
                    Arrays.toString(shape),
                    format));
        }
    }

    /**
     * The input shape it was compiled for.
     *
     * @return a copy of the (N, C, H, W) shape
     */
    public long[] inputShape() {
        return inputShape.clone();
    }

    /**
     * The output shape.
     *
     * @return a copy
     */
    public long[] outputShape() {
        return outputShape.clone();
    }

    /**
     * The precision it computes in.
     *
     * @return {@link Precision#FP32}, {@link Precision#BF16} ({@code AUTO} resolved) or {@link Precision#INT8}
     */
    public Precision precision() {
        return precision;
    }

    /**
     * The calibration an {@link Precision#INT8} compile used: save it to compile again without samples.
     *
     * @return the calibration
     * @throws IllegalStateException if this module is not int8
     */
    public Calibration calibration() {
        if (calibration == null) {
            throw new IllegalStateException(
                    precision == Precision.INT8
                            ? "this module is quantized in its file (QDQ): its int8 scales are the file's, it has no "
                                    + "calibration"
                            : "this module was compiled in " + precision + ": only INT8 has a calibration");
        }
        return calibration;
    }

    /**
     * The compiled plan: each step, what it fused, oneDNN's implementation and layouts; memory per call.
     *
     * @return several lines, as {@link #toString()} prints them
     */
    @Override
    public String extraRepr() {
        return "of " + source + "\n" + program;
    }

    @Override
    protected void release() {
        long stamp = lock.writeLock(); // waits for running calls
        try {
            program.close();
        } finally {
            lock.unlockWrite(stamp);
        }
    }
}
