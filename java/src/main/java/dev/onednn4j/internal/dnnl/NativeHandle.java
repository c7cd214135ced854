package dev.onednn4j.internal.dnnl;

import java.lang.foreign.MemorySegment;
import java.util.function.ToIntFunction;

/** A oneDNN handle owned by a Java object: destroyed exactly once, by {@link #close()}. */
abstract class NativeHandle implements AutoCloseable {
    private MemorySegment handle;
    private final String destroyName;
    private final ToIntFunction<MemorySegment> destroy;

    /**
     * @param destroyName the C destructor's name, for errors
     * @param destroy     the C destructor, returning a status
     */
    NativeHandle(MemorySegment handle, String destroyName, ToIntFunction<MemorySegment> destroy) {
        this.handle = handle;
        this.destroyName = destroyName;
        this.destroy = destroy;
    }

    final MemorySegment handle() {
        MemorySegment h = handle;
        if (h == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        }
        return h;
    }

    @Override
    public final synchronized void close() {
        MemorySegment h = handle;
        if (h != null) {
            handle = null;
            Dnnl.check(destroy.applyAsInt(h), destroyName);
        }
    }
}
