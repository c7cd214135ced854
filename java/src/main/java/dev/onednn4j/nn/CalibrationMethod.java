package dev.onednn4j.nn;

/**
 * How an {@link Precision#INT8} compile chooses, from the calibration samples, the threshold {@code t} each quantized
 * activation is clipped to: it is then stored in steps of {@code t / 255} (u8, a value never negative) or
 * {@code t / 127} (s8).
 */
public enum CalibrationMethod {
    /** The largest magnitude seen: nothing is clipped, the step is the widest. */
    MINMAX,
    /** The magnitude below which 99.99% of the values seen fall: rare outliers clip so the rest get a finer step. */
    PERCENTILE,
    /**
     * The threshold whose quantized distribution differs least from the observed one (the Kullback-Leibler divergence
     * over a 2048-bin histogram of magnitudes), as TensorRT's entropy calibrator chooses.
     */
    ENTROPY
}
