package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;

/**
 * Modules applied in order, each to the previous one's output, as PyTorch's {@code nn.Sequential}.
 * Children are named by index ({@code 0}, {@code 1}, ...). Intermediate outputs are closed as soon as
 * the next module has consumed them; the input stays the caller's, the result is the caller's (an empty
 * Sequential returns the input as a new tensor handle over the same memory, as PyTorch returns the input).
 */
public class Sequential extends IndexedContainer {

    /**
     * {@code nn.Sequential(modules)}: the modules as children {@code 0}, {@code 1}, ..., run in that order.
     *
     * @param modules the children, owned by the Sequential from now on; none for an empty one
     */
    @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
    public Sequential(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /**
     * Appends a module, named by its index.
     *
     * @param module the new last child, run after the others and owned by the Sequential from now on
     * @return this Sequential
     */
    public final Sequential add(Module module) {
        append(module);
        return this;
    }

    /** Each module on the previous one's output; intermediates are closed, the result is the caller's. */
    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        return inOrder(input, childMap().values());
    }
}
