package dev.onednn4j.fuzz;

import dev.onednn4j.tensor.MemoryFormat;

/**
 * How a valid case calls the layer: {@code forward(x)}, or {@code forward(x, out)} into an output of a memory
 * format.
 *
 * @param intoOut   whether the call is {@code forward(x, out)}
 * @param outFormat the format of {@code out}, for {@code forward(x, out)}
 */
record Call(boolean intoOut, MemoryFormat outFormat) {
    static final Call FORWARD = new Call(false, MemoryFormat.CONTIGUOUS);

    static Call into(MemoryFormat format) {
        return new Call(true, format);
    }

    /** {@code forward(x)} or {@code forward(x, out)} in a random format (channels-last only for a 4-D output). */
    static Call random(Gen g, int outRank, boolean channelsLastOut) {
        if (g.chance(0.65)) {
            return FORWARD;
        }
        return into(
                outRank == 4 && channelsLastOut && g.chance(0.5)
                        ? MemoryFormat.CHANNELS_LAST
                        : MemoryFormat.CONTIGUOUS);
    }

    @Override
    public String toString() {
        return intoOut ? "forward(x, out) with out " + outFormat : "forward(x)";
    }
}
