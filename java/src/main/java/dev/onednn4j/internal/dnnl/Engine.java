package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_set_primitive_cache_capacity;

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

    /**
     * Entries of oneDNN's own primitive cache unless {@code -Donednn4j.primitiveCache.capacity} (or oneDNN's
     * {@code ONEDNN_PRIMITIVE_CACHE_CAPACITY}, which then wins) says otherwise: 128, where oneDNN's default is 1024.
     * The plan caches keep the primitives in use alive; oneDNN's cache also keeps those of evicted plans, generated
     * code included (tens to hundreds of KB each), so at 1024 entries a layer fed many input shapes holds on to
     * tens of MB its plan cache has let go. 128 still lets identical layers of a network share their primitives as
     * they are built.
     */
    public static final int DEFAULT_PRIMITIVE_CACHE_CAPACITY = 128;

    private static Engine create() {
        Dnnl.ensureLoaded();
        if (System.getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") == null
                && System.getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") == null) {
            int capacity = Integer.getInteger("onednn4j.primitiveCache.capacity", DEFAULT_PRIMITIVE_CACHE_CAPACITY);
            Dnnl.check(
                    dnnl_set_primitive_cache_capacity(capacity),
                    "dnnl_set_primitive_cache_capacity",
                    () -> "-Donednn4j.primitiveCache.capacity=" + capacity);
        }
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
