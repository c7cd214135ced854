package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import java.util.List;

/** What the general operations of one computed input share: its shape, the output's, and the source argument. */
abstract class SingleInputOp implements GraphOp {
    final long[] in;
    final long[] out;

    SingleInputOp(long[] in, long[] out) {
        this.in = in.clone();
        this.out = out.clone();
    }

    @Override
    public List<long[]> inputShapes() {
        return List.of(in);
    }

    @Override
    public long[] outputShape() {
        return out.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return Arg.SRC;
    }
}
