package dev.onednn4j.nn;

import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A list of modules whose parameters the tree sees, as PyTorch's {@code nn.ModuleList}. Children are
 * named by index. It has no forward of its own: the module holding it decides how to use them.
 */
public class ModuleList extends IndexedContainer implements Iterable<Module> {

    /**
     * {@code nn.ModuleList(modules)}: the modules as children {@code 0}, {@code 1}, ..., in order.
     *
     * @param modules the children, owned by the list from now on; none for an empty list
     */
    @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
    public ModuleList(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /**
     * {@code nn.ModuleList(modules)} from any iterable, in its order.
     *
     * @param modules the children, owned by the list from now on
     */
    @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
    public ModuleList(Iterable<? extends Module> modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /**
     * Appends a module, named by its index.
     *
     * @param module the new last child, owned by the list from now on
     * @return this list
     */
    public final ModuleList add(Module module) {
        append(module);
        return this;
    }

    @Override
    public Iterator<Module> iterator() {
        return List.copyOf(childMap().values()).iterator();
    }

    /** PyTorch's ModuleList has no forward either. */
    @Override
    public Tensor forward(Tensor input) {
        throw new UnsupportedOperationException("Module [" + getName() + "] is missing the required \"forward\" "
                + "function: iterate over its modules in the forward of the module that holds it");
    }

    /** Consecutive children with the same repr are shown once, as PyTorch does: {@code (0-9): 10 x Block(...)}. */
    @Override
    List<String> childLines() {
        List<String> out = new ArrayList<>();
        List<Map.Entry<String, Module>> entries = new ArrayList<>(childMap().entrySet());
        int i = 0;
        while (i < entries.size()) {
            String repr = entries.get(i).getValue().toString();
            int j = i + 1;
            while (j < entries.size() && entries.get(j).getValue().toString().equals(repr)) {
                j++;
            }
            String name = j - i == 1
                    ? entries.get(i).getKey()
                    : entries.get(i).getKey() + "-" + entries.get(j - 1).getKey();
            out.add("(" + name + "): " + (j - i == 1 ? "" : (j - i) + " x ") + indent(repr));
            i = j;
        }
        return out;
    }
}
