package dev.onednn4j.fuzz;

import dev.onednn4j.tensor.MemoryFormat;
import java.util.Arrays;

/** A case's input: shape, memory format and values. */
final class Input {
    private final long[] shape;
    final MemoryFormat format;
    final Data data;

    Input(long[] shape, MemoryFormat format, Data data) {
        this.shape = shape.clone();
        this.format = format;
        this.data = data;
    }

    long[] shape() {
        return shape.clone();
    }

    int rank() {
        return shape.length;
    }

    long numel() {
        return numel(shape);
    }

    Input withShape(long... newShape) {
        return new Input(newShape, newShape.length == 4 ? format : MemoryFormat.CONTIGUOUS, data);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return "input " + Arrays.toString(shape) + " " + format + " (" + data + ")";
    }
}
