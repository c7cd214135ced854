package dev.onednn4j.spark;

import java.util.List;

/**
 * The answer for one input row: its top classes and their softmax probabilities, or why it has none.
 *
 * @param id        the row's identifier (an image's path, or the id column)
 * @param classes   class indices, most probable first; null if {@code error} is set
 * @param scores    their softmax probabilities over all classes, as float32; null if {@code error} is set
 * @param error     null, or what is wrong with the row (a corrupt image, a row of the wrong length)
 * @param latencyMs milliseconds from the start of decoding this row to the end of its batch's forward pass
 */
public record Prediction(String id, List<Integer> classes, List<Float> scores, String error, double latencyMs) {

    /**
     * Whether the row was classified.
     *
     * @return true if it has no error
     */
    public boolean ok() {
        return error == null;
    }
}
