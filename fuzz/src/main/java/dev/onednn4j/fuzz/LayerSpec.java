package dev.onednn4j.fuzz;

import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.SplittableRandom;

/** A layer's configuration: how to build it, and how to print it for a report. */
interface LayerSpec {

    /** The layer's class name, e.g. {@code Conv2d}: what the report counts by. */
    String layer();

    /**
     * Builds the layer, ready for inference (eval mode), with parameters drawn from {@code r}.
     *
     * @param integers small integer parameters, so that integer inputs give a result exact in float
     */
    Module build(SplittableRandom r, boolean integers);

    /** Whether integer inputs and parameters make every sum exact in float, so oneDNN must agree bit for bit. */
    default boolean exactTier() {
        return false;
    }

    /** Whether {@code forward(x)} overwrites and returns its input (an activation built with inplace). */
    default boolean inPlace() {
        return false;
    }

    /** The layout of the input the layer hands oneDNN for an input in {@code format} (Linear copies to rows). */
    default MemoryFormat planInputFormat(MemoryFormat format) {
        return format;
    }

    /** Sets every parameter of {@code m} to integers in {@code [-4, 4]}. */
    static void integerParameters(Module m, SplittableRandom r) {
        for (Tensor p : m.parameters()) {
            float[] v = new float[Math.toIntExact(p.numel())];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextInt(-4, 5);
            }
            p.copyFrom(v);
        }
    }
}
