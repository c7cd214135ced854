package dev.onednn4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
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
 * ONNX Runtime 1.29 (CPU execution provider, all graph optimisations) running the one-node Conv model
 * of {@link OnnxConvModel}; the input is a direct buffer, so it is not copied per call. Threads:
 * {@code -Dbench.threads} intra-op threads (2 by default), one inter-op thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OnnxRuntimeBenchmark {

    private OrtEnvironment env;
    private OrtSession session;
    private OnnxTensor input;
    private Map<String, OnnxTensor> inputs;

    @Setup
    public void setup(Suite suite) throws OrtException {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        env = OrtEnvironment.getEnvironment();
        session =
                Ort.session(env, OnnxConvModel.conv(s, d.weights(), d.bias()), Integer.getInteger("bench.threads", 2));
        input = Ort.input(env, d.input(), s.inputShape());
        inputs = Map.of("x", input);
        d.check("ONNX Runtime", Ort.firstOutput(session, inputs));
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
