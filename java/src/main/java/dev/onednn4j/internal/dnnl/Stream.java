package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_default_flags;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_wait;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** An execution stream. Not thread-safe: one per executing thread. */
public final class Stream extends NativeHandle {
    private Stream(MemorySegment handle) {
        super(handle, "dnnl_stream_destroy", dnnl_h::dnnl_stream_destroy);
    }

    public static Stream create(Engine engine) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_stream_create(p, engine.handle(), dnnl_stream_default_flags()), "dnnl_stream_create");
            return new Stream(p.get(C_POINTER, 0));
        }
    }

    public void await() {
        Dnnl.check(dnnl_stream_wait(handle()), "dnnl_stream_wait");
    }
}
