package dev.onednn4j.benchmarks.networks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.onednn4j.benchmarks.Ort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * ONNX Runtime 1.29 on PyTorch's ONNX export of the network (CPU execution provider, all graph optimisations,
 * {@code -Dbench.threads} intra-op threads, one inter-op thread, sequential execution), set as the single-conv
 * suite's {@code OnnxRuntimeBenchmark}. The input is a direct buffer, so it is not copied per call.
 *
 * <p>{@code ortPrecision=INT8} (scripts/bench --int8) runs ONNX Runtime's static int8 instead: the file
 * {@code <model>-int8.onnx} beside the export, which scripts/make-int8-models writes with ONNX Runtime's own
 * {@code quantize_static} (QDQ, weights s8 per channel, activations u8, MinMax calibration on
 * {@link CalibrationImages}: the images onednn4j's int8 calibrates on), its logits checked against PyTorch's within
 * {@link OneDnn4jCompiledNetworks#INT8_TOLERANCE}, as onednn4j's int8 are.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 3, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OnnxRuntimeNetworks {

    /** FP32: PyTorch's export as it is; INT8: ONNX Runtime's static int8 of it. */
    @Param({"FP32"})
    public String ortPrecision;

    private OrtSession session;
    private OnnxTensor input;
    private Map<String, OnnxTensor> inputs;

    @Setup
    public void setup(Network network) throws IOException, OrtException {
        NetworkReference ref = network.reference();
        boolean int8 = ortPrecision.equals("INT8");
        Path file = int8 ? int8File(network.model) : NetworkExports.standard().onnx(network.model);
        if (!Files.exists(file)) {
            throw new IllegalStateException(file + " is missing: scripts/bench --int8 makes it with ONNX Runtime's "
                    + "quantize_static (scripts/make-int8-models; needs onnxruntime's Python package)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        session = Ort.session(env, file.toString(), Network.threads());
        input = Ort.input(env, ref.input(), ref.inputShape());
        inputs = Map.of(session.getInputNames().iterator().next(), input);
        if (int8) {
            ref.check("ONNX Runtime int8", Ort.firstOutput(session, inputs), OneDnn4jCompiledNetworks.INT8_TOLERANCE);
        } else {
            ref.check("ONNX Runtime", Ort.firstOutput(session, inputs));
        }
    }

    /** Where scripts/make-int8-models writes ONNX Runtime's int8 file of {@code model}. */
    public static Path int8File(String model) {
        return NetworkExports.standard().dir().resolve(model + "-int8.onnx");
    }

    @Benchmark
    public void onnxRuntime(Blackhole bh) throws OrtException {
        try (OrtSession.Result r = session.run(inputs)) {
            bh.consume(r);
        }
    }

    @TearDown
    public void tearDown() throws OrtException {
        input.close();
        session.close();
    }
}
