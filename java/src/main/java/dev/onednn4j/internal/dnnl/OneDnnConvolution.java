package dev.onednn4j.internal.dnnl;

import dev.onednn4j.internal.ConvGeometry;
import dev.onednn4j.internal.ConvolutionKernel;
import dev.onednn4j.internal.TensorAccess;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.StampedLock;

/**
 * The oneDNN path of one Conv2d layer: a {@link ConvPlan} per input shape and layout, built on first
 * use and kept until {@link #close()}. Safe for concurrent use; {@code close()} waits for running calls.
 */
public final class OneDnnConvolution implements ConvolutionKernel {

    private static final TensorAccess TENSORS = TensorAccess.get();

    private record Key(ConvGeometry geometry, MemoryFormat in, MemoryFormat out) {
    }

    /** The last plan used: a hit costs no allocation (the caller reuses its geometry object per shape). */
    private record Recent(ConvGeometry geometry, MemoryFormat in, MemoryFormat out, ConvPlan plan) {
    }

    private final ConcurrentHashMap<Key, ConvPlan> plans = new ConcurrentHashMap<>();
    private volatile Recent recent;
    private final StampedLock lifecycle = new StampedLock();
    private boolean closed;

    /** What oneDNN chose for one input shape and layout. */
    public record PlanInfo(String implementation, boolean reordersSource, boolean reordersDestination,
                           long scratchpadBytes) {
    }

    public OneDnnConvolution() {
        Dnnl.ensureLoaded();
    }

    @Override
    public void forward(ConvGeometry g, Tensor x, Tensor weight, Tensor bias, Tensor out) {
        long life = lifecycle.readLock();
        try {
            if (closed) {
                throw new IllegalStateException("the oneDNN convolution is closed");
            }
            ConvPlan plan = plan(g, x.memoryFormat(), out.memoryFormat());
            long px = TENSORS.pin(x);
            try {
                long pw = TENSORS.pin(weight);
                try {
                    long pb = bias == null ? 0 : TENSORS.pin(bias);
                    try {
                        long po = TENSORS.pin(out);
                        try {
                            plan.execute(x, weight, bias, out);
                        } finally {
                            TENSORS.unpin(out, po);
                        }
                    } finally {
                        if (bias != null) {
                            TENSORS.unpin(bias, pb);
                        }
                    }
                } finally {
                    TENSORS.unpin(weight, pw);
                }
            } finally {
                TENSORS.unpin(x, px);
            }
        } finally {
            lifecycle.unlockRead(life);
        }
    }

    /** Builds (once) and describes the plan for an input geometry and layouts. */
    public PlanInfo planInfo(ConvGeometry g, MemoryFormat in, MemoryFormat out) {
        long life = lifecycle.readLock();
        try {
            if (closed) {
                throw new IllegalStateException("the oneDNN convolution is closed");
            }
            ConvPlan p = plan(g, in, out);
            return new PlanInfo(p.implementation(), p.reordersSource(), p.reordersDestination(),
                    p.scratchpadBytes());
        } finally {
            lifecycle.unlockRead(life);
        }
    }

    private ConvPlan plan(ConvGeometry g, MemoryFormat in, MemoryFormat out) {
        Recent r = recent;
        if (r != null && r.geometry() == g && r.in() == in && r.out() == out) {
            return r.plan();
        }
        ConvPlan p = plans.computeIfAbsent(new Key(g, in, out), k -> new ConvPlan(g, in, out));
        recent = new Recent(g, in, out, p);
        return p;
    }

    /** Drops every plan (e.g. when the layer switches to the reference backend). */
    public void clear() {
        long life = lifecycle.writeLock();
        try {
            closePlans();
        } finally {
            lifecycle.unlockWrite(life);
        }
    }

    private void closePlans() {
        recent = null;
        RuntimeException failure = null;
        for (ConvPlan p : plans.values()) {
            try {
                p.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        plans.clear();
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        long life = lifecycle.writeLock();
        try {
            if (!closed) {
                closed = true;
                closePlans();
            }
        } finally {
            lifecycle.unlockWrite(life);
        }
    }
}
