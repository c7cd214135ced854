package dev.onednn4j.benchmarks.networks;

import java.io.IOException;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The parameters every whole-network benchmark shares: the torchvision model (1000 classes, 3x224x224 images) and
 * the batch size. Its {@link #reference()} is where each implementation's setup starts: the exported files
 * (generated when missing), the input and PyTorch's logits.
 */
@State(Scope.Benchmark)
public class Network {

    /** torchvision's names; {@code NetworkReference#build} maps them to {@code dev.onednn4j.vision.Models}. */
    @Param({"resnet18", "resnet50", "mobilenet_v2"})
    public String model;

    /** Images per call: the exports hold PyTorch's logits for these two. */
    @Param({"1", "8"})
    public int batch;

    /** Threads per call for every implementation: {@code -Dbench.threads}, 2 by default, as the conv suite. */
    public static int threads() {
        return Integer.getInteger("bench.threads", 2);
    }

    /**
     * The input and PyTorch's logits for this model and batch, after making sure the exported files exist.
     *
     * @throws IllegalStateException if they are missing and cannot be generated, saying what to install
     */
    public NetworkReference reference() throws IOException {
        NetworkExports exports = NetworkExports.standard();
        exports.ensure(model);
        return NetworkReference.load(exports, model, batch);
    }
}
