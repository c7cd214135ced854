package dev.onednn4j.nn;

import java.util.Objects;

/** What Sequential and ModuleList share: children named by their index, {@code 0}, {@code 1}, ... */
abstract class IndexedContainer extends Module {

    /** Registers {@code module} under the next index. */
    final void append(Module module) {
        Objects.requireNonNull(module, "module");
        registerModule(Integer.toString(size()), module);
    }

    /**
     * The module at {@code index}.
     *
     * @param index the position, from 0 (the child named {@code "0"}) to {@code size() - 1}
     * @return the child there, still owned by this container
     * @throws IndexOutOfBoundsException if {@code index} is out of range
     */
    public final Module get(int index) {
        Module m = childMap().get(Integer.toString(index));
        if (m == null) {
            throw new IndexOutOfBoundsException(
                    "index " + index + " is out of range for " + getName() + " of size " + size());
        }
        return m;
    }

    /**
     * Number of modules.
     *
     * @return the number of children, as PyTorch's {@code len()}
     */
    public final int size() {
        return childMap().size();
    }
}
