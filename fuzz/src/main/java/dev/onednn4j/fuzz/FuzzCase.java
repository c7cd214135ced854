package dev.onednn4j.fuzz;

/**
 * One generated case, reproducible from {@code (seed, index)} alone.
 *
 * @param seed        the run's seed
 * @param index       the case's index in the run
 * @param layer       the layer it exercises, e.g. {@code Conv2d}
 * @param valid       whether the configuration is valid (the layer must compute it correctly) or invalid (the layer
 *                    must refuse it with a clear Java exception)
 * @param description the configuration, input and call, in full
 * @param body        what running the case does and how it is judged
 */
public record FuzzCase(long seed, long index, String layer, boolean valid, String description, Body body) {

    /** Runs a case and judges it. */
    @FunctionalInterface
    public interface Body {
        /**
         * Runs the case.
         *
         * @param trace receives what is known before the native call, such as the oneDNN kernel chosen
         * @return the verdict
         * @throws Exception if the case could not even be judged (counted as {@link Status#WRONG})
         */
        Verdict run(Trace trace) throws Exception;
    }

    /** What a case reports while it runs, before the call that might crash. */
    @FunctionalInterface
    public interface Trace {
        /**
         * The oneDNN implementation the layer's plan uses, e.g. {@code brg_conv_fwd:avx512_core}.
         *
         * @param implementation oneDNN's name of the kernel
         */
        void kernel(String implementation);
    }
}
