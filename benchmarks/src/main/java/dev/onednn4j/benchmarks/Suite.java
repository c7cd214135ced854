package dev.onednn4j.benchmarks;

import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The shape parameter every benchmark shares: the rows of shapes.csv ({@code ShapesTest} keeps this list
 * and the file in step). {@code -p shape=...} also accepts the batch-scaling rows of {@link Shape}.
 */
@State(Scope.Benchmark)
public class Suite {

    @Param({
        "seed-5x5-edge",
        "seed-11x7x30x30-k7s3p2",
        "tiny-1x8x8x8-k3",
        "resnet-conv1-1x3x224",
        "resnet-3x3-1x64x56",
        "resnet-3x3-1x256x14",
        "resnet-1x1-1x256x56",
        "resnet-3x3-32x128x28",
        "mobilenet-dw-1x32x112",
        "dilated-1x64x56-d2"
    })
    public String shape;

    public Shape shape() {
        return Shape.named(shape);
    }
}
