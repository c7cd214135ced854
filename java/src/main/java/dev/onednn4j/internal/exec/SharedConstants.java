package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.ExecArgs;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Primitive;
import dev.onednn4j.internal.dnnl.Stream;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * Constants (a layer's weights) reordered into the layout a primitive chose, shared by every plan that needs the
 * same tensor in the same layout: a layer with plans for 32 input shapes keeps one reordered copy of its weights,
 * not 32. Each plan holds a reference; the last one to go frees the copy.
 */
final class SharedConstants {
    private SharedConstants() {}

    /** By tensor identity; guarded by itself. */
    private static final IdentityHashMap<TensorImpl, List<Reordered>> BY_TENSOR = new IdentityHashMap<>();

    /** One tensor in one layout: the buffer, and the tensor's version it was last reordered from. */
    static final class Reordered {
        private final TensorImpl tensor;
        private final MemoryDesc layout; // ours: outlives the plan that first asked
        final Memory buffer;
        final long bytes;
        private volatile long version = Long.MIN_VALUE;
        private int references; // guarded by BY_TENSOR

        private Reordered(TensorImpl tensor, MemoryDesc layout, Memory buffer) {
            this.tensor = tensor;
            this.layout = layout;
            this.buffer = buffer;
            this.bytes = layout.byteSize();
        }

        /** Whether the buffer holds the tensor as it is now. Allocates nothing. */
        boolean current() {
            return version == tensor.version();
        }

        /**
         * Reorders {@code source} (the tensor's data, or a Java copy of it) into the buffer through {@code reorder}
         * (from {@code user}, the tensor's layout, to this one), unless another plan just did.
         */
        synchronized void refresh(Primitive reorder, MemoryDesc user, TensorImpl source, Engine engine, Stream stream) {
            long v = tensor.version();
            if (v == version) {
                return;
            }
            try (Memory from = Memory.over(user, engine, source.data());
                    ExecArgs args = new ExecArgs(2).add(Arg.FROM, from).add(Arg.TO, buffer)) {
                reorder.execute(stream, args);
            }
            version = v;
        }
    }

    /** The reordered copy of {@code tensor} in {@code layout}, shared, with one more reference (release it). */
    static Reordered acquire(TensorImpl tensor, MemoryDesc layout, Engine engine) {
        synchronized (BY_TENSOR) {
            List<Reordered> copies = BY_TENSOR.computeIfAbsent(tensor, t -> new ArrayList<>(1));
            for (Reordered r : copies) {
                if (r.layout.sameAs(layout)) {
                    r.references++;
                    return r;
                }
            }
            MemoryDesc own = layout.copy();
            Memory buffer;
            try {
                buffer = Memory.allocate(own, engine);
            } catch (RuntimeException | Error e) {
                own.close();
                if (copies.isEmpty()) {
                    BY_TENSOR.remove(tensor);
                }
                throw e;
            }
            Reordered r = new Reordered(tensor, own, buffer);
            r.references = 1;
            copies.add(r);
            return r;
        }
    }

    /** Drops a reference; the last one frees the copy. */
    static void release(Reordered r) {
        synchronized (BY_TENSOR) {
            if (--r.references > 0) {
                return;
            }
            List<Reordered> copies = BY_TENSOR.get(r.tensor);
            copies.remove(r);
            if (copies.isEmpty()) {
                BY_TENSOR.remove(r.tensor);
            }
        }
        r.buffer.close();
        r.layout.close();
    }

    /** Copies held now, for tests. */
    static int count() {
        synchronized (BY_TENSOR) {
            return BY_TENSOR.values().stream().mapToInt(List::size).sum();
        }
    }
}
