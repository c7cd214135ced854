package dev.onednn4j.benchmarks.networks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The answer check of every whole-network setup passes close logits and stops wrong ones. */
class NetworkReferenceTest {

    static NetworkReference reference(float[] logits) {
        return new NetworkReference("resnet18", 2, new float[0], logits, Map.of());
    }

    @Test
    void passesWithinTheToleranceOfTheLogitsScaleAndFailsBeyond() {
        float[] expected = new float[2000];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (float) Math.sin(i) * 8; // max |logit| about 8
        }
        NetworkReference ref = reference(expected);
        assertArrayEquals(new long[] {2, 3, 224, 224}, ref.inputShape());
        ref.check("exact", expected.clone());

        float[] close = expected.clone();
        close[17] += (float) (0.9 * NetworkReference.TOLERANCE * 8);
        ref.check("close", close);

        float[] off = expected.clone();
        off[1999] += (float) (2 * NetworkReference.TOLERANCE * 8);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ref.check("off", off));
        assertTrue(e.getMessage().startsWith("off on resnet18, batch 2: the logits differ"), e.getMessage());

        float[] nan = expected.clone();
        nan[3] = Float.NaN;
        assertThrows(IllegalStateException.class, () -> ref.check("NaN", nan));
        assertThrows(IllegalStateException.class, () -> ref.check("short", new float[1000]));
        assertThrows(IllegalStateException.class, () -> reference(new float[3]).check("zeros", new float[3]));
    }
}
