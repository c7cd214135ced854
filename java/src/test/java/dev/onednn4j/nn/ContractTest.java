package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.ConvParams;
import dev.onednn4j.internal.op.PadMode;
import dev.onednn4j.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The contract, compiled and run exactly as written, then checked against the reference. */
class ContractTest {

    @Test
    void theContractCompilesAndRunsAsWritten() {
        SplittableRandom rnd = new SplittableRandom(42);
        float[] weights = new float[17 * 7 * 7 * 7];
        float[] bias = new float[17];
        float[] input = new float[11 * 7 * 30 * 30];
        for (float[] a : new float[][] {weights, bias, input}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
        }
        float[] got;
        long[] gotShape;
        // ---- the contract, verbatim ----
        try (Conv2d conv = Conv2d.builder(7, 17, 7) // inChannels, outChannels, kernelSize
                .stride(3, 3)
                .padding(2, 2)
                .dilation(1, 1)
                .groups(1)
                .bias(true)
                .paddingMode(PaddingMode.ZEROS) // or .padding(Padding.SAME) / Padding.VALID
                .build()) {
            conv.weight().copyFrom(weights); // float[] (17, 7, 7, 7), OIHW
            conv.bias().copyFrom(bias); // float[] (17)
            try (Tensor x = Tensor.of(input, 11, 7, 30, 30); // float[] NCHW
                    Tensor y = conv.forward(x)) { // runs on oneDNN
                long[] shape = y.shape(); // [11, 17, 10, 10]
                float[] out = y.toFloatArray();
                // ---- end of the contract ----
                got = out;
                gotShape = shape;
            }
        }
        assertArrayEquals(new long[] {11, 17, 10, 10}, gotShape);
        ConvGeometry g =
                new ConvParams(7, 17, 7, 7, 3, 3, 2, 2, false, 1, 1, 1, PadMode.ZEROS, true).resolve(11, 7, 30, 30);
        CrossCheck.Result r = CrossCheck.convolution(g, input, weights, bias, got, false, 1);
        assertTrue(r.passed(), r::report);
    }
}
