package dev.onednn4j.benchmarks.networks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.onednn4j.benchmarks.Ort;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
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

    private OrtSession session;
    private OnnxTensor input;
    private Map<String, OnnxTensor> inputs;

    @Setup
    public void setup(Network network) throws IOException, OrtException {
        NetworkReference ref = network.reference();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        session = Ort.session(env, NetworkExports.standard().onnx(network.model).toString(), Network.threads());
        input = Ort.input(env, ref.input(), ref.inputShape());
        inputs = Map.of("input", input);
        ref.check("ONNX Runtime", Ort.firstOutput(session, inputs));
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
