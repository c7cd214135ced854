package dev.onednn4j.nn;

import dev.onednn4j.internal.op.PoolGeometry;
import dev.onednn4j.internal.op.PoolParams;
import java.util.Arrays;

/** The input checks pooling layers share: rank 3 (unbatched) or 4, worded as PyTorch's. */
final class Pool {
    private Pool() {
    }

    /** Resolves an (N, C, H, W) or (C, H, W) input shape. */
    static PoolGeometry resolve(PoolParams params, long[] shape, String op) {
        if (shape.length != 3 && shape.length != 4) {
            throw new IllegalArgumentException(op + ": Expected 3D or 4D (batch mode) tensor for input, but got input "
                    + "of size: " + Arrays.toString(shape));
        }
        long n = shape.length == 4 ? shape[0] : 1;
        int d = shape.length - 3;
        return params.resolve(n, shape[d], shape[d + 1], shape[d + 2], shape);
    }
}
