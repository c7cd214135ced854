package dev.onednn4j.internal.dnnl;

import dev.onednn4j.bindings.dnnl_exec_arg_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A fixed array of {@code dnnl_exec_arg_t}, filled once and reused for every execution. */
public final class ExecArgs {
    private final MemorySegment segment;
    private int count;

    public ExecArgs(Arena arena, int capacity) {
        this.segment = dnnl_exec_arg_t.allocateArray(capacity, arena);
    }

    /** Adds one argument ({@code DNNL_ARG_*}) and returns this. */
    public ExecArgs add(int arg, Memory memory) {
        MemorySegment slot = dnnl_exec_arg_t.asSlice(segment, count++);
        dnnl_exec_arg_t.arg(slot, arg);
        dnnl_exec_arg_t.memory(slot, memory.raw());
        return this;
    }

    int count() {
        return count;
    }

    MemorySegment segment() {
        return segment;
    }
}
