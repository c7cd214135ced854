package dev.onednn4j.internal.op;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.tensor.Tensor;

/**
 * One operation resolved for one input shape: its oneDNN primitive and its pure-Java reference, two
 * implementations of the same thing behind one interface so either can run any layer and each can be checked
 * against the other. The tensors of a call are passed in slot order: the inputs, then the output. Constants
 * (weights) belong to the operation.
 */
public interface Operation {

    /** The output's shape for the input this operation was resolved for. */
    long[] outputShape();

    /**
     * The oneDNN plan for calls whose tensors are laid out as {@code tensors} are (their shapes are this
     * operation's): the primitive descriptor and how the tensors map onto its arguments.
     */
    Plan plan(Tensor... tensors);

    /** Computes the output (the last tensor) from the inputs with the plain Java loops. */
    void reference(Tensor... tensors);
}
