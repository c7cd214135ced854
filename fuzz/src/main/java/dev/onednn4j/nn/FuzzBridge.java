package dev.onednn4j.nn;

import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.Tensor;

/**
 * The fuzzer's window onto what a layer resolves, which the library keeps package-private: the {@link Operation} a
 * layer runs for an input (its reference result and rounding bound, what the library's own cross-check tests use)
 * and the oneDNN implementation of its plan. It lives in the library's package, on the class path, because the
 * library has no public hook for either; it calls the library's code and adds none of its own.
 */
public final class FuzzBridge {
    private FuzzBridge() {}

    /**
     * Whether {@code module} is a layer that runs one {@link Operation} per call (every layer but containers,
     * {@link Flatten}, {@link Identity} and {@link Dropout}).
     *
     * @param module any module
     * @return true if {@link #operation} and {@link #implementation} apply to it
     */
    public static boolean hasOperation(Module module) {
        return module instanceof OperationModule;
    }

    /**
     * The operation {@code module} resolves for {@code input}'s shape, validating it as {@code forward} does.
     *
     * @param module a layer for which {@link #hasOperation} is true
     * @param input  a float32 input
     * @return the operation, with the layer's reference loop and bound
     * @throws IllegalArgumentException if the input does not fit the layer, as {@code forward} would refuse it
     */
    public static Operation operation(Module module, Tensor input) {
        return ((OperationModule) module).operation(input);
    }

    /**
     * The oneDNN implementation the layer's plan for these tensors' layouts uses, e.g.
     * {@code brg_conv_fwd:avx512_core}, building the plan (the primitive is created, not executed) if needed. The
     * plan is cached in the layer, so the next {@code forward} with the same layouts reuses it.
     *
     * @param module a layer for which {@link #hasOperation} is true
     * @param input  an input of the shape and layout of the coming call
     * @param out    an output of the shape and layout of the coming call (the input itself for an in-place call)
     * @return oneDNN's name of the kernel
     */
    public static String implementation(Module module, Tensor input, Tensor out) {
        return ((OperationModule) module).withPlan(input, out, Plan::implementation);
    }

    /**
     * {@code forward(input, out)}, which every layer that runs an {@link Operation} has.
     *
     * @param module a layer for which {@link #hasOperation} is true
     * @param input  the input
     * @param out    receives the output
     */
    public static void forwardInto(Module module, Tensor input, Tensor out) {
        ((OperationModule) module).forward(input, out);
    }

    /**
     * Whether oneDNN's int8 kernels here have VNNI (8-bit weights); without it they keep weights to 7 bits.
     *
     * @return true on CPUs with AVX512-VNNI or AVX-VNNI (and under an {@code ONEDNN_MAX_CPU_ISA} that allows it)
     */
    public static boolean int8Vnni() {
        return dev.onednn4j.internal.dnnl.Dnnl.int8Vnni();
    }

    /**
     * How many oneDNN plans {@code module} holds.
     *
     * @param module a layer for which {@link #hasOperation} is true
     * @return the plans cached; 0 if oneDNN was never asked for one
     */
    public static int planCount(Module module) {
        return ((OperationModule) module).planCount();
    }
}
