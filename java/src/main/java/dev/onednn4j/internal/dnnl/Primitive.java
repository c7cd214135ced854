package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_execute;

import dev.onednn4j.bindings.dnnl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A compiled primitive. It keeps its own copy of the descriptor. With a user-mode scratchpad it
 * may be executed from several threads at once, each with its own stream, memory objects and scratchpad.
 */
public final class Primitive extends NativeHandle {
    private final String description;

    private Primitive(MemorySegment handle, String description) {
        super(handle, "dnnl_primitive_destroy", dnnl_h::dnnl_primitive_destroy);
        this.description = description;
    }

    public static Primitive create(PrimitiveDesc pd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            Dnnl.check(dnnl_primitive_create(p, pd.handle()), "dnnl_primitive_create", pd::toString);
            return new Primitive(p.get(C_POINTER, 0), pd.toString());
        }
    }

    /** Runs with the arguments of {@code args} and waits for the stream. Allocates nothing. */
    public void execute(Stream stream, ExecArgs args) {
        Dnnl.check(
                dnnl_primitive_execute(handle(), stream.handle(), args.count(), args.segment()),
                "dnnl_primitive_execute",
                description);
        stream.await();
    }
}
