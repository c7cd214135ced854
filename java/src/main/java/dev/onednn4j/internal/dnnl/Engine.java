package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_create;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CPU engine. One per process, created on first use and never destroyed: an engine is
 * thread-safe, every primitive and memory object refers to it, and it must outlive them all.
 */
public final class Engine {
    private static final class Holder {
        static final Engine CPU = create();
    }

    private final MemorySegment handle;

    private Engine(MemorySegment handle) {
        this.handle = handle;
    }

    public static Engine cpu() {
        return Holder.CPU;
    }

    private static Engine create() {
        Dnnl.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_engine_create(p, dnnl_cpu(), 0), "dnnl_engine_create", () -> "cpu engine 0");
            return new Engine(p.get(C_POINTER, 0));
        }
    }

    MemorySegment handle() {
        return handle;
    }
}
