package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;

/** Memory descriptors for the caller's tensors. */
public final class Layouts {
    private Layouts() {}

    /**
     * The layout of {@code t}'s memory seen with {@code dims}, which may differ from its shape in rank but not in
     * order: a 3-D (C, H, W) tensor seen as (1, C, H, W), grouped weights (OC, IC/G, kH, kW) as
     * (G, OC/G, IC/G, kH, kW), a (N, C) tensor as (N, C, 1, 1). Strides follow {@code t}'s memory format.
     */
    public static MemoryDesc of(long[] dims, TensorImpl t) {
        Format f = dims.length == t.dim() ? t.format() : Format.CONTIGUOUS;
        return MemoryDesc.strided(dims, DataType.of(t.dtype()), f.strides(dims));
    }

    /** A layout in {@code format} with {@code dims}, float32. */
    public static MemoryDesc of(long[] dims, Format format) {
        return MemoryDesc.strided(dims, DataType.F32, format.strides(dims));
    }

    /** A float32 layout with explicit strides (in elements). */
    public static MemoryDesc of(long[] dims, long[] strides) {
        return MemoryDesc.strided(dims, DataType.F32, strides);
    }

    /** A float32 (N, C, H, W) layout with channels in blocks of {@code block} (8 or 16): {@code aBcd16b}. */
    public static MemoryDesc channelBlocked(long[] dims, int block) {
        return MemoryDesc.channelBlocked(dims, DataType.F32, block);
    }

    /** A float32 layout left to the primitive. */
    public static MemoryDesc any(long[] dims) {
        return MemoryDesc.any(dims, DataType.F32);
    }
}
