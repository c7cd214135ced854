package dev.onednn4j.benchmarks.networks;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.io.IOException;
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
 * DJL with its PyTorch engine (libtorch 2.7.1 from the Maven Central native jar: nothing is downloaded) on the
 * frozen TorchScript export of the network, called through the model's block in inference mode (no Predictor or
 * Translator in the way). Threads, as the single-conv suite's {@code DjlBenchmark}:
 * {@code -Dai.djl.pytorch.num_threads} (scripts/bench sets it from its thread count, 2 by default) and one inter-op
 * thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 3, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "--enable-native-access=ALL-UNNAMED",
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=2",
            "-Dai.djl.pytorch.num_interop_threads=1"
        })
@State(Scope.Benchmark)
public class DjlNetworks {

    private NDManager manager;
    private Model model;
    private Block block;
    private ParameterStore parameters;
    private NDList x;

    @Setup
    public void setup(Network network) throws IOException, MalformedModelException {
        NetworkReference ref = network.reference();
        manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        model = Model.newInstance(network.model, Device.cpu(), "PyTorch");
        model.load(NetworkExports.standard().torchScript(network.model));
        block = model.getBlock();
        parameters = new ParameterStore(manager, false);
        NDArray input = manager.create(ref.input(), new ai.djl.ndarray.types.Shape(ref.inputShape()));
        x = new NDList(input);
        try (NDList r = block.forward(parameters, x, false)) {
            ref.check("DJL PyTorch", r.singletonOrThrow().toFloatArray());
        }
    }

    @Benchmark
    public void pytorch(Blackhole bh) {
        try (NDList r = block.forward(parameters, x, false)) {
            bh.consume(r);
        }
    }

    @TearDown
    public void tearDown() {
        model.close();
        manager.close();
    }
}
