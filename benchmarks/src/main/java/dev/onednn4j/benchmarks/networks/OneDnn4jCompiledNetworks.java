package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * onednn4j's compiled path on a whole torchvision network: {@code net.compile(CompileOptions.forInput(...))} with a
 * channels-last input (what a service that prepares its own images feeds), then {@code forward(x, out)}, which
 * allocates nothing per call. {@code precision=FP32} checks the logits within {@link NetworkReference#TOLERANCE};
 * {@code precision=BF16} within {@link #BF16_TOLERANCE}, and only runs where the CPU has native bf16 (scripts/bench
 * passes {@code -p precision=FP32} elsewhere, where compiling refuses BF16); {@code precision=INT8} calibrates on
 * {@link CalibrationImages} and checks within {@link #INT8_TOLERANCE} (scripts/bench --int8); {@code precision=INT8_QDQ}
 * compiles ONNX Runtime's own static int8 file of the network ({@link OnnxRuntimeNetworks#int8File}, QDQ) with
 * {@code OnnxModel} in INT8, the file's scales and zero points instead of a calibration: the same quantized model as
 * ONNX Runtime's int8 row, run by another engine.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 3, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OneDnn4jCompiledNetworks {

    /** bf16 keeps about 3 significant digits per value: the library's stated bf16 accuracy (docs/precision.md). */
    public static final double BF16_TOLERANCE = 2e-2;

    /**
     * int8 (ours or ONNX Runtime's) against PyTorch's float32 logits: within a tenth of their scale. Only a check that
     * the answer is the network's, not a wrong one; scripts/bench --int8 reports the error itself.
     */
    public static final double INT8_TOLERANCE = 0.1;

    /** The compiled arithmetic: a {@link Precision}, or INT8_QDQ (ONNX Runtime's int8 file, its own scales). */
    @Param({"FP32", "BF16"})
    public String precision;

    /**
     * Kernel choice by measurement ({@link CompileOptions#tuneKernels(boolean)}): off by default, as in the library;
     * {@code -p tune=false,true} measures what it buys. Choices go to a file of their own per fork, so every fork
     * times afresh.
     */
    @Param({"false"})
    public boolean tune;

    private Module net;
    private CompiledModule compiled;
    private Tensor x;
    private Tensor out;

    @Setup
    public void setup(Network network) throws IOException {
        NetworkReference ref = network.reference();
        boolean qdq = precision.equals("INT8_QDQ");
        if (qdq) {
            Path file = OnnxRuntimeNetworks.int8File(network.model);
            if (!Files.exists(file)) {
                throw new IllegalStateException(file + " is missing: scripts/bench --int8 makes it with ONNX Runtime's "
                        + "quantize_static (scripts/make-int8-models; needs onnxruntime's Python package)");
            }
            net = OnnxModel.load(file);
        } else {
            net = ref.build();
        }
        Precision p = qdq ? Precision.INT8 : Precision.valueOf(precision);
        if (tune) {
            Path choices = Files.createTempFile("kernel-choices", ".properties");
            Files.delete(choices); // none known: this fork times every kernel
            choices.toFile().deleteOnExit();
            System.setProperty("onednn4j.kernelCache", choices.toString());
        }
        CompileOptions options = CompileOptions.forInput(ref.inputShape())
                .inputFormat(MemoryFormat.CHANNELS_LAST)
                .precision(p)
                .numThreads(Network.threads())
                .tuneKernels(tune);
        if (p == Precision.INT8 && !qdq) {
            options = options.calibration(CalibrationImages.tensors());
        }
        compiled = net.compile(options);
        try (Tensor nchw = Tensor.of(ref.input(), ref.inputShape())) {
            x = nchw.toMemoryFormat(MemoryFormat.CHANNELS_LAST);
        }
        out = Tensor.zeros(compiled.outputShape());
        compiled.forward(x, out);
        ref.check(
                "onednn4j compiled " + precision,
                out.toFloatArray(),
                switch (p) {
                    case FP32 -> NetworkReference.TOLERANCE;
                    case INT8 -> INT8_TOLERANCE;
                    default -> BF16_TOLERANCE;
                });
    }

    /** Channels-last in, logits out, into the same output every call. */
    @Benchmark
    public Tensor compiled() {
        compiled.forward(x, out);
        return out;
    }

    @TearDown
    public void tearDown() {
        out.close();
        x.close();
        compiled.close();
        net.close();
    }
}
