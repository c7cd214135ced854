package dev.onednn4j.internal.dnnl;

import dev.onednn4j.bindings.dnnl_exec_arg_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A fixed native array of {@code dnnl_exec_arg_t}, filled once and reused for every execution; it owns its
 * memory, freed by {@link #close()}.
 */
public final class ExecArgs implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private final int capacity;
    private int count;

    public ExecArgs(int capacity) {
        this.capacity = capacity;
        this.segment = dnnl_exec_arg_t.allocateArray(Math.max(capacity, 1), arena);
    }

    /** Adds one argument and returns this. */
    public ExecArgs add(Arg arg, Memory memory) {
        if (count == capacity) {
            throw new IllegalStateException("more than " + capacity + " execution arguments");
        }
        MemorySegment slot = dnnl_exec_arg_t.asSlice(segment, count++);
        dnnl_exec_arg_t.arg(slot, arg.id());
        dnnl_exec_arg_t.memory(slot, memory.raw());
        return this;
    }

    int count() {
        return count;
    }

    MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
