package dev.onednn4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The answer check each benchmark runs in @Setup passes right answers and fails wrong ones. */
class WorkloadTest {

    static float[] reference(Workload d) {
        try (Conv2d conv = d.shape().conv2d();
                Tensor x = Tensor.of(d.input(), d.shape().inputShape())) {
            conv.weight().copyFrom(d.weights());
            conv.bias().copyFrom(d.bias());
            conv.to(Backend.REFERENCE);
            try (Tensor y = conv.forward(x)) {
                return y.toFloatArray();
            }
        }
    }

    @Test
    void passesTheReferenceAndFailsWrongAnswers() {
        Workload d = Workload.of(Shape.named("seed-11x7x30x30-k7s3p2"));
        float[] good = reference(d);
        d.check("reference", good);

        float[] first = good.clone();
        first[0] += 1e-3f;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.check("broken", first));
        assertTrue(e.getMessage().contains("output (n=0, c=0, h=0, w=0)"), e.getMessage());

        float[] zeros = new float[good.length];
        assertThrows(IllegalStateException.class, () -> d.check("zeros", zeros));
        assertThrows(IllegalStateException.class, () -> d.check("short", new float[10]));
    }
}
