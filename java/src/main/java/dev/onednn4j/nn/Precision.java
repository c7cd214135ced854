package dev.onednn4j.nn;

/**
 * The arithmetic a {@link CompiledModule} computes in. The graph's input and output are float32 either way.
 *
 * <ul>
 *   <li>{@link #FP32}: float32 throughout; results within the library's float32 rounding bounds of the reference.
 *   <li>{@link #BF16}: convolutions and linear layers on bfloat16 activations and weights, accumulating in float32
 *       (bias, BatchNorm folding and accumulation stay float32): about 3 significant digits per value, several
 *       times the float32 speed on CPUs with AVX512_BF16, AVX10 or AMX. Compiling refuses it on other CPUs, where
 *       oneDNN would emulate it slowly.
 *   <li>{@link #AUTO}: {@code BF16} where the CPU computes it natively, else {@code FP32}.
 *   <li>{@link #INT8}: static post-training quantization, calibrated on samples
 *       ({@link CompileOptions#calibration(Iterable)}) or from a saved {@link Calibration}: convolutions and linear
 *       layers on 8-bit activations (per-tensor steps) and weights (a step per output channel), accumulating in
 *       32-bit integers, with their activations, residual sums and requantization fused; int8 values stay int8
 *       through max and average pooling; every other step runs in bf16 where the CPU has it natively, else float32,
 *       on values dequantized once. Weights keep
 *       7 bits where the CPU has no VNNI (oneDNN's u8 x s8 products would otherwise saturate). A model quantized
 *       in its ONNX file (QuantizeLinear/DequantizeLinear, the QDQ form) needs no calibration: its own scales and
 *       zero points are used, and its other steps stay float32.
 * </ul>
 */
public enum Precision {
    /** float32 throughout: results within the library's float32 rounding bounds of the reference. */
    FP32,
    /**
     * bfloat16 activations and weights in convolutions and linear layers, float32 accumulation; refused where the CPU
     * has no native bf16.
     */
    BF16,
    /** {@link #BF16} where the CPU computes it natively, else {@link #FP32}. */
    AUTO,
    /**
     * int8 convolutions and linear layers, calibrated on samples or from a saved calibration; other steps float32.
     */
    INT8
}
