package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;

/**
 * Modules applied in order, each to the previous one's output, as PyTorch's {@code nn.Sequential}.
 * Children are named by index ({@code 0}, {@code 1}, ...). Intermediate outputs are closed as soon as
 * the next module has consumed them; the input stays the caller's, the result is the caller's.
 */
public class Sequential extends IndexedContainer {

    public Sequential(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /** Appends a module, named by its index. */
    public final Sequential add(Module module) {
        append(module);
        return this;
    }

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Tensor x = input;
        for (Module m : childMap().values()) {
            Tensor y;
            try {
                y = m.forward(x);
            } finally {
                if (x != input) {
                    x.close();
                }
            }
            x = y;
        }
        return x == input ? identityCopy(input) : x;
    }

    /** An empty Sequential returns its input; the caller owns results, so it gets a copy. */
    private static Tensor identityCopy(Tensor input) {
        return input.toMemoryFormat(input.memoryFormat());
    }
}
