package dev.onednn4j.nn;

import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.RoundingBound;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * What the library's own tests check oneDNN against, for benchmarks, demos and a user's own checks: a layer's
 * output computed plainly in double (the reference backend's loop), and for each element the proven bound on how
 * far a correct float32 result may be from it, whatever the order of summation (benchdnn's method; the bounds per
 * layer are in docs/precision.md). A result outside its bound is a bug, never rounding noise.
 *
 * <pre>{@code
 * Reference ref = Reference.of(conv, x);
 * Reference.Check c = ref.check(conv.forward(x));   // c.passed(), c.report()
 * }</pre>
 */
public final class Reference {
    private final String what;
    private final long[] shape;
    private final double[] values;
    private final double[] bounds;

    private Reference(String what, long[] shape, double[] values, double[] bounds) {
        this.what = what;
        this.shape = shape;
        this.values = values;
        this.bounds = bounds;
    }

    /**
     * One element of a reference: its exact value and its bound.
     *
     * @param value the output in double
     * @param bound how far a correct float32 result may be from {@code value}
     */
    public record Element(double value, double bound) {}

    /**
     * The outcome of {@link #check}: how many elements lie outside their bounds, and how close the worst came.
     *
     * @param elements     elements compared
     * @param violations   elements outside their bound
     * @param maxAbsError  the largest {@code |got - value|}
     * @param worstShare   the largest {@code |got - value| / bound}: at most 1 when the check passes
     * @param zeroFraction the share of exactly-zero reference values (a check over mostly zeros proves little, so
     *                     it fails above 30%, as benchdnn's does)
     * @param report       a readable summary naming the worst elements by index
     */
    public record Check(
            int elements, int violations, double maxAbsError, double worstShare, double zeroFraction, String report) {
        /**
         * Whether the output passes.
         *
         * @return true when no element is outside its bound and the reference is not mostly zeros
         */
        public boolean passed() {
            return violations == 0 && zeroFraction <= 0.3;
        }
    }

    /**
     * The reference of a layer that runs one operation (every layer of {@code dev.onednn4j.nn} but the containers:
     * {@code Conv2d}, {@code BatchNorm2d}, the activations, poolings, {@code Linear}, ...) for {@code input}.
     *
     * @param layer the layer, with its current parameters
     * @param input a float32 input the layer accepts
     * @return the exact output and its bounds, row-major in the output's shape
     * @throws IllegalArgumentException if {@code layer} is a container or a module of one's own (compare its
     *     {@code to(Backend.REFERENCE)} run instead), or does not accept {@code input}
     */
    public static Reference of(Module layer, Tensor input) {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(input, "input");
        if (!(layer instanceof OperationModule m)) {
            throw new IllegalArgumentException(layer.getName() + " is not a single-operation layer (a container or"
                    + " a module of one's own): compare its to(Backend.REFERENCE) run instead");
        }
        Operation op = m.operation(input);
        float[] x = input.toFloatArray();
        return new Reference(layer.getName(), op.outputShape(), op.exact(x), op.bound(x));
    }

    /**
     * Elements of {@code conv}'s output for {@code input}, by their row-major index in the (N, OC, OH, OW) output:
     * for checking samples of a convolution too large to compute whole in double.
     *
     * @param conv    the convolution, with its current weights
     * @param input   a float32 (N, C, H, W) input it accepts
     * @param indices row-major indices into the output, each {@code 0 <= i < N * OC * OH * OW}
     * @return each element's exact value and bound, in the order asked
     * @throws IllegalArgumentException if {@code input} does not fit {@code conv} or an index is out of range
     */
    public static Element[] at(Conv2d conv, Tensor input, long... indices) {
        Objects.requireNonNull(conv, "conv");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(indices, "indices");
        if (input.dim() != 4 || !(conv.operation(input) instanceof Convolution op)) {
            throw new IllegalArgumentException("not a batched (N, C, H, W) input: " + input);
        }
        ConvGeometry g = op.geometry();
        long[] out = g.outputShape();
        long size = out[0] * out[1] * out[2] * out[3];
        for (long i : indices) {
            if (i < 0 || i >= size) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "index %d is out of range for the output shape %s (%d elements)",
                        i,
                        Arrays.toString(out),
                        size));
            }
        }
        float[] x = input.toFloatArray();
        float[] w = conv.weight().toFloatArray();
        float[] b = conv.bias() == null ? null : conv.bias().toFloatArray();
        long terms = (long) g.c() / g.groups() * g.kH() * g.kW() + 1;
        double[] magnitude = new double[1];
        Element[] result = new Element[indices.length];
        int plane = g.outH() * g.outW();
        for (int k = 0; k < indices.length; k++) {
            int i = (int) indices[k]; // the output has fewer elements than an array may hold
            // row-major [N, OC, OH, OW]
            int n = i / (g.outC() * plane);
            int oc = i / plane % g.outC();
            int oh = i % plane / g.outW();
            int ow = i % g.outW();
            double value = Convolution.element(g, x, w, b, n, oc, oh, ow, magnitude);
            result[k] = new Element(value, RoundingBound.of(terms, magnitude[0]));
        }
        return result;
    }

    /**
     * Higham's {@code gamma(n) = n*u / (1 - n*u)}, {@code u = 2^-24}: a float32 sum of {@code n} terms errs by at
     * most {@code gamma(n)} times the sum of their magnitudes.
     *
     * @param n the number of terms, at least 1
     * @return the factor
     * @throws IllegalArgumentException if {@code n * u >= 1}
     */
    public static double gamma(long n) {
        return RoundingBound.gamma(n);
    }

    /**
     * The output's shape.
     *
     * @return a copy
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The exact output, row-major.
     *
     * @return a copy
     */
    public double[] values() {
        return values.clone();
    }

    /**
     * Each element's bound, row-major.
     *
     * @return a copy
     */
    public double[] bounds() {
        return bounds.clone();
    }

    /**
     * Checks a float32 output (in any memory format) against this reference, element by element.
     *
     * @param output the layer's output for the same input
     * @return how it compares
     * @throws IllegalArgumentException if {@code output}'s shape differs from {@link #shape()}
     */
    public Check check(Tensor output) {
        Objects.requireNonNull(output, "output");
        if (!Arrays.equals(output.shape(), shape)) {
            throw new IllegalArgumentException("the output's shape " + Arrays.toString(output.shape())
                    + " is not the reference's " + Arrays.toString(shape));
        }
        CrossCheck.Result r = CrossCheck.withinBound(what, shape, output.toFloatArray(), values, bounds);
        return new Check(r.elements(), r.violations(), r.maxAbsError(), r.worstShare(), r.zeroFraction(), r.report());
    }
}
