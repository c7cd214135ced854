/**
 * The java.lang.foreign bindings generated from oneDNN's C header: the raw C API, for the library's own wrapper
 * layer only (they are exported to it alone).
 */
module dev.onednn4j.bindings {
    requires dev.onednn4j.natives;

    exports dev.onednn4j.bindings to
            dev.onednn4j;
}
