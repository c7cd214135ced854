package dev.onednn4j.internal.dnnl;

import java.lang.foreign.MemorySegment;

/** A oneDNN handle owned by a Java object: destroyed exactly once, by {@link #close()}. */
abstract class NativeHandle implements AutoCloseable {
    private MemorySegment handle;

    NativeHandle(MemorySegment handle) {
        this.handle = handle;
    }

    final MemorySegment handle() {
        MemorySegment h = handle;
        if (h == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        }
        return h;
    }

    abstract int destroy(MemorySegment handle);

    abstract String destroyName();

    @Override
    public final synchronized void close() {
        MemorySegment h = handle;
        if (h != null) {
            handle = null;
            Dnnl.check(destroy(h), destroyName());
        }
    }
}
