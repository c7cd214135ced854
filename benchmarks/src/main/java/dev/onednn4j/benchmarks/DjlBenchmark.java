package dev.onednn4j.benchmarks;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.convolutional.Conv2d;
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
 * DJL with its PyTorch engine (libtorch 2.7.1, from the Maven Central native jar: nothing is downloaded).
 * Threads: {@code -Dai.djl.pytorch.num_threads} (scripts/bench sets it, 2 by default).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {
            "--enable-native-access=ALL-UNNAMED",
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=2",
            "-Dai.djl.pytorch.num_interop_threads=1"
        })
@State(Scope.Benchmark)
public class DjlBenchmark {

    private NDManager manager;
    private NDArray x;
    private NDArray w;
    private NDArray b;
    private ai.djl.ndarray.types.Shape stride;
    private ai.djl.ndarray.types.Shape padding;
    private ai.djl.ndarray.types.Shape dilation;
    private int groups;

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        x = manager.create(d.input(), new ai.djl.ndarray.types.Shape(s.inputShape()));
        w = manager.create(d.weights(), new ai.djl.ndarray.types.Shape(s.weightShape()));
        b = manager.create(d.bias(), new ai.djl.ndarray.types.Shape(s.outC()));
        stride = new ai.djl.ndarray.types.Shape(s.stride(), s.stride());
        padding = new ai.djl.ndarray.types.Shape(s.pad(), s.pad());
        dilation = new ai.djl.ndarray.types.Shape(s.dilation(), s.dilation());
        groups = s.groups();
        try (NDList r = Conv2d.conv2d(x, w, b, stride, padding, dilation, groups)) {
            d.check("DJL PyTorch", r.singletonOrThrow().toFloatArray());
        }
    }

    @Benchmark
    public void pytorch(Blackhole bh) {
        try (NDList r = Conv2d.conv2d(x, w, b, stride, padding, dilation, groups)) {
            bh.consume(r);
        }
    }

    @TearDown
    public void tearDown() {
        manager.close();
    }
}
