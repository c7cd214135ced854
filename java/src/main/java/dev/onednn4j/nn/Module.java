package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Base class of every layer and network, as PyTorch's {@code nn.Module}: a tree of modules, each
 * with parameters (and buffers) registered by name.
 *
 * <pre>{@code
 * class Block extends Module {
 *     final Conv2d conv1 = registerModule("conv1", Conv2d.builder(64, 64, 3).padding(1).build());
 *     final Conv2d conv2 = registerModule("conv2", Conv2d.builder(64, 64, 3).padding(1).build());
 *
 *     public Tensor forward(Tensor x) {
 *         try (Tensor h = conv1.forward(x)) {
 *             return conv2.forward(h);
 *         }
 *     }
 * }
 * }</pre>
 *
 * <h2>Names</h2>
 * Parameters are named by dotted paths through the tree, children by their registered names, and
 * containers ({@link Sequential}, {@link ModuleList}) name their children by index:
 * {@code blocks.3.conv1.weight}. These are PyTorch's names, so a PyTorch state dict's keys match.
 * Registration order is iteration order.
 *
 * <h2>Ownership</h2>
 * A module owns its parameters, buffers and children: {@link #close()} closes the whole tree, and any
 * use afterwards throws {@link IllegalStateException}. The tensors returned by {@link #parameters()},
 * {@link #stateDict()} and the like are the module's own (no copies): do not close them.
 */
public abstract class Module implements AutoCloseable {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private static final Pattern NAME = Pattern.compile("[^.]+");

    /** An empty module: subclasses register their parameters, buffers and children in their constructor. */
    protected Module() {}

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private Backend backend = Backend.ONEDNN;
    private int threads;
    private volatile boolean closed;

    /**
     * The forward pass. The result is a new tensor owned by the caller; the input stays the caller's.
     *
     * @param input the input, e.g. an (N, C, H, W) float32 batch; not closed, not modified (unless the layer is
     *     in place, as {@code ReLU(true)})
     * @return the output, a new tensor (or a new handle on the input's memory, for in-place layers and
     *     {@link Identity}) that the caller closes
     */
    public abstract Tensor forward(Tensor input);

    // ---- registration ----------------------------------------------------------------------------

    /**
     * Registers a parameter under {@code name}; the module now owns it. {@code null} declares the name
     * with no parameter, as PyTorch's {@code register_parameter(name, None)} (a Conv2d without bias).
     *
     * @param name      the attribute name, as in PyTorch (e.g. {@code weight}): non-empty, without {@code .}
     * @param parameter the tensor, from now on closed with this module; or {@code null}
     * @return {@code parameter}, to assign to a field
     * @throws IllegalArgumentException if {@code name} is empty, contains a dot, or is already taken by a
     *     parameter, buffer or child
     */
    protected final Tensor registerParameter(String name, Tensor parameter) {
        checkName(name);
        parameters.put(name, parameter);
        return parameter;
    }

    /**
     * Registers a buffer (state that is not a parameter, e.g. running statistics); the module owns it.
     *
     * @param name   the attribute name, as in PyTorch (e.g. {@code running_mean}): non-empty, without {@code .}
     * @param buffer the tensor, from now on closed with this module; or {@code null} to declare the name only
     * @return {@code buffer}, to assign to a field
     * @throws IllegalArgumentException if {@code name} is empty, contains a dot, or is already taken
     */
    protected final Tensor registerBuffer(String name, Tensor buffer) {
        checkName(name);
        buffers.put(name, buffer);
        return buffer;
    }

    /**
     * Registers a child module under {@code name}; this module now owns it.
     *
     * @param <M>    the child's type, kept for the field it is assigned to
     * @param name   the attribute name, as in PyTorch (e.g. {@code conv1}): non-empty, without {@code .}
     * @param module the child, from now on closed with this module and switched to its backend
     * @return {@code module}, to assign to a field
     * @throws IllegalArgumentException if {@code name} is empty, contains a dot, or is already taken, or
     *     {@code module} is this module
     */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        Objects.requireNonNull(module, "module");
        if (module.equals(this)) {
            throw new IllegalArgumentException("a module cannot be its own child");
        }
        children.put(name, module);
        ((Module) module).inherit(this);
        return module;
    }

    private void checkName(String name) {
        Objects.requireNonNull(name, "name");
        ensureOpen();
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("module, parameter and buffer names must be non-empty and contain "
                    + "no \".\", got \"" + name + "\"");
        }
        if ((parameters.containsKey(name) ? 1 : 0)
                        + (buffers.containsKey(name) ? 1 : 0)
                        + (children.containsKey(name) ? 1 : 0)
                > 0) {
            throw new IllegalArgumentException("attribute '" + name + "' already exists in " + getName());
        }
    }

    // ---- the tree --------------------------------------------------------------------------------

    /**
     * The direct child registered as {@code name}, for a forward that looks its layers up by name.
     *
     * @param name the name the child was registered under
     * @return the child, still owned by this module
     * @throws IllegalArgumentException if there is no child of that name
     */
    protected final Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalArgumentException(getName() + " has no child module named '" + name + "'");
        }
        return m;
    }

    /**
     * Runs the named children in order, each on the previous one's output, closing every intermediate result
     * (never {@code input}, which stays the caller's), and returns the last output, owned by the caller: the
     * straight part of a forward written as PyTorch's {@code x = self.conv1(x); x = self.bn1(x); ...}.
     *
     * @param input the first child's input; stays the caller's
     * @param names the children to run, in order; none gives a new handle on {@code input} (no copy)
     * @return the last child's output, a new tensor the caller closes
     * @throws IllegalArgumentException if a name is not a child of this module
     */
    protected final Tensor chain(Tensor input, String... names) {
        List<Module> modules = new ArrayList<>(names.length);
        for (String name : names) {
            modules.add(child(name));
        }
        return inOrder(input, modules);
    }

    /** Runs {@code modules} in order, closing intermediates; with none, the input as a new handle (no copy). */
    static Tensor inOrder(Tensor input, Iterable<Module> modules) {
        Tensor x = input;
        for (Module m : modules) {
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
        return x == input ? FACE.of(FACE.impl(input).alias()) : x;
    }

    /**
     * The module at a dotted path below this one, as PyTorch's {@code get_submodule}: {@code ""} is this module,
     * {@code "layer1.0.conv1"} a convolution of a ResNet.
     *
     * @param target the dotted path of child names from this module
     * @return the module there, still owned by the tree
     * @throws IllegalArgumentException if a name on the path is not a child, naming how far the lookup got
     */
    public final Module getSubmodule(String target) {
        Objects.requireNonNull(target, "target");
        ensureOpen();
        Module m = this;
        if (target.isEmpty()) {
            return m;
        }
        String walked = "";
        for (String name : target.split("\\.", -1)) {
            Module next = m.children.get(name);
            if (next == null) {
                throw new IllegalArgumentException(m.getName() + (walked.isEmpty() ? "" : " at '" + walked + "'")
                        + " has no attribute '" + name + "' (looking up '" + target + "')");
            }
            walked = walked.isEmpty() ? name : walked + "." + name;
            m = next;
        }
        return m;
    }

    /**
     * Replaces the module at a dotted path, as PyTorch's {@code set_submodule} (or assigning
     * {@code model.fc = nn.Linear(512, 10)}): the tree now owns {@code module}, under the same name and position.
     * Returns the module replaced, which no longer belongs to the tree: close it (or reuse it).
     *
     * @param target the dotted path of the module to replace, e.g. {@code fc} or {@code layer4.1.conv2}
     * @param module the replacement, switched to its new parent's backend
     * @return the module that was at {@code target}, now the caller's
     * @throws IllegalArgumentException if there is no module at {@code target}, or {@code module} would contain
     *     itself
     */
    public final Module setSubmodule(String target, Module module) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(module, "module");
        int dot = target.lastIndexOf('.');
        Module parent = dot < 0 ? this : getSubmodule(target.substring(0, dot));
        String name = target.substring(dot + 1);
        Module old = parent.children.get(name);
        if (old == null) {
            throw new IllegalArgumentException(parent.getName() + " has no child module named '" + name
                    + "' to replace (looking up '" + target + "')");
        }
        if (module.equals(this) || module.namedModules().containsValue(parent)) {
            throw new IllegalArgumentException("a module cannot contain itself");
        }
        parent.children.put(name, module); // same key: keeps its position
        module.inherit(parent);
        return old;
    }

    /**
     * Every parameter of the tree, each once, in registration order.
     *
     * @return an unmodifiable list of the module's own tensors (not copies: do not close them)
     */
    public final List<Tensor> parameters() {
        return List.copyOf(namedParameters().values());
    }

    /**
     * Every parameter of the tree by its dotted name, each once (a shared tensor under its first name).
     *
     * @return an unmodifiable map, in registration order, of names such as {@code layer1.0.conv1.weight} to the
     *     module's own tensors (do not close them)
     */
    public final Map<String, Tensor> namedParameters() {
        ensureOpen();
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (var m : namedModules().entrySet()) {
            String prefix = m.getKey().isEmpty() ? "" : m.getKey() + ".";
            for (var p : m.getValue().parameters.entrySet()) {
                if (p.getValue() != null && seen.add(p.getValue())) {
                    out.put(prefix + p.getKey(), p.getValue());
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Every buffer of the tree by its dotted name.
     *
     * @return an unmodifiable map, in registration order, of names such as {@code bn1.running_mean} to the
     *     module's own tensors (do not close them)
     */
    public final Map<String, Tensor> namedBuffers() {
        ensureOpen();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var m : namedModules().entrySet()) {
            String prefix = m.getKey().isEmpty() ? "" : m.getKey() + ".";
            m.getValue().buffers.forEach((k, v) -> {
                if (v != null) {
                    out.put(prefix + k, v);
                }
            });
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * The direct children, in registration order.
     *
     * @return an unmodifiable list of the children, still owned by this module
     */
    public final List<Module> children() {
        return List.copyOf(namedChildren().values());
    }

    /**
     * The direct children by name.
     *
     * @return an unmodifiable snapshot, in registration order, of the children, still owned by this module
     */
    public final Map<String, Module> namedChildren() {
        ensureOpen();
        return Collections.unmodifiableMap(new LinkedHashMap<>(children));
    }

    /**
     * This module ("") and all below it by dotted name, in pre-order; a module reachable twice appears once.
     *
     * @return an unmodifiable map of dotted names to the modules of the tree, still owned by it
     */
    public final Map<String, Module> namedModules() {
        ensureOpen();
        Map<String, Module> out = new LinkedHashMap<>();
        collect("", this, out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return Collections.unmodifiableMap(out);
    }

    private static void collect(String prefix, Module m, Map<String, Module> out, Set<Module> seen) {
        if (!seen.add(m)) {
            return;
        }
        out.put(prefix, m);
        for (var c : m.children.entrySet()) {
            collect(prefix.isEmpty() ? c.getKey() : prefix + "." + c.getKey(), c.getValue(), out, seen);
        }
    }

    // ---- state dict ------------------------------------------------------------------------------

    /**
     * Parameters and buffers by dotted name: each module's own parameters, then its buffers, then its
     * children's, recursively. The tensors are the module's own, not copies.
     *
     * @return an unmodifiable map with PyTorch's keys ({@code layer1.0.bn1.running_var}); do not close its tensors
     */
    public final Map<String, Tensor> stateDict() {
        ensureOpen();
        Map<String, Tensor> out = new LinkedHashMap<>();
        stateDict("", out);
        return Collections.unmodifiableMap(out);
    }

    private void stateDict(String prefix, Map<String, Tensor> out) {
        parameters.forEach((k, v) -> {
            if (v != null) {
                out.put(prefix + k, v);
            }
        });
        buffers.forEach((k, v) -> {
            if (v != null) {
                out.put(prefix + k, v);
            }
        });
        children.forEach((k, c) -> c.stateDict(prefix + k + ".", out));
    }

    /**
     * What {@link #loadStateDict} found besides the keys it loaded, as PyTorch's {@code _IncompatibleKeys}.
     *
     * @param missingKeys    keys of the module that the dict did not have, left unchanged
     * @param unexpectedKeys keys of the dict that the module does not have, ignored
     */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {}

    /**
     * Copies {@code stateDict}'s tensors into this module's parameters and buffers, by name.
     *
     * <p>A shape mismatch is always an error; with {@code strict}, so are keys of this module missing
     * from the dict and keys of the dict this module does not have. Every problem is reported together in
     * one {@link IllegalArgumentException}, worded as PyTorch's, and then nothing has been copied (so is a closed
     * tensor in the dict). Without {@code strict} the missing and unexpected keys are returned instead. Values
     * are copied, converted to each tensor's dtype as PyTorch's {@code copy_} converts (a float64 checkpoint into
     * float32 weights; BatchNorm's int64 {@code num_batches_tracked} stays int64). To load a safetensors file,
     * pass {@code SafeTensors.load(path).tensors()} or use {@link #loadSafeTensors}.
     *
     * @param stateDict tensors by PyTorch's dotted names; copied from, never closed or kept
     * @param strict    whether a missing or an unexpected key is an error, as PyTorch's {@code strict}
     * @return the missing and unexpected keys; both empty after a strict load
     * @throws IllegalArgumentException on any problem, listing them all; nothing has been copied then
     */
    public final LoadResult loadStateDict(Map<String, Tensor> stateDict, boolean strict) {
        Objects.requireNonNull(stateDict, "stateDict");
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        List<String> unusable = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = stateDict.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
            } else if (src.isClosed()) {
                unusable.add(e.getKey() + ": the checkpoint's tensor is closed");
            } else if (!Arrays.equals(src.shape(), e.getValue().shape())) {
                mismatches.add(String.format(
                        Locale.ROOT,
                        "size mismatch for %s: copying a param with shape %s from "
                                + "checkpoint, the shape in current model is %s.",
                        e.getKey(),
                        Arrays.toString(src.shape()),
                        Arrays.toString(e.getValue().shape())));
            }
        }
        for (String k : stateDict.keySet()) {
            if (!own.containsKey(k)) {
                unexpected.add(k);
            }
        }
        List<String> errors = new ArrayList<>(); // PyTorch's order: missing, unexpected, size mismatches
        if (strict && !missing.isEmpty()) {
            errors.add("Missing key(s) in state_dict: " + quoted(missing) + ". ");
        }
        if (strict && !unexpected.isEmpty()) {
            errors.add("Unexpected key(s) in state_dict: " + quoted(unexpected) + ". ");
        }
        errors.addAll(mismatches);
        errors.addAll(unusable);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(
                    "Error(s) in loading state_dict for " + getName() + ":\n\t" + String.join("\n\t", errors));
        }
        for (var e : own.entrySet()) {
            Tensor src = stateDict.get(e.getKey());
            if (src != null) {
                e.getValue().copyFrom(src);
            }
        }
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    /**
     * Loads a safetensors file into this module, as {@code safetensors.torch.load_model} does:
     * {@code loadStateDict(file.tensors(), strict)}, each value copied (and converted to the module's dtype, as
     * PyTorch's {@code copy_}), so the file is closed before this returns.
     *
     * @param path   the {@code .safetensors} file
     * @param strict whether a missing or an unexpected key is an error, as {@link #loadStateDict}'s
     * @return the missing and unexpected keys; both empty after a strict load
     * @throws IllegalArgumentException if a shape differs or, with {@code strict}, a key is missing or unexpected;
     *     nothing has been copied then
     * @throws IOException if the file cannot be read or is not valid safetensors
     */
    public final LoadResult loadSafeTensors(Path path, boolean strict) throws IOException {
        try (SafeTensors file = SafeTensors.load(path)) {
            return loadStateDict(file.tensors(), strict);
        }
    }

    /**
     * Writes this module's state dict, as {@code safetensors.torch.save_model} does (with {@code {"format": "pt"}}
     * metadata): PyTorch's {@code safetensors.torch.load_file} reads it back.
     *
     * @param path the file to write, replaced if it exists
     * @throws IOException if the file cannot be written; {@code path} is never left half-written
     */
    public final void saveSafeTensors(Path path) throws IOException {
        SafeTensors.save(stateDict(), Map.of("format", "pt"), path);
    }

    private static String quoted(List<String> keys) {
        return String.join(", ", keys.stream().map(k -> "\"" + k + "\"").toList());
    }

    // ---- modes -----------------------------------------------------------------------------------

    /**
     * Sets training mode on the whole tree (it matters to layers such as dropout; Conv2d ignores it).
     *
     * @param mode true for training, false for evaluation (inference)
     * @return this module
     */
    public Module train(boolean mode) {
        ensureOpen();
        for (Module m : namedModules().values()) {
            m.training = mode;
        }
        return this;
    }

    /**
     * {@code train(true)}.
     *
     * @return this module
     */
    public Module train() {
        return train(true);
    }

    /**
     * {@code train(false)}: evaluation mode.
     *
     * @return this module
     */
    public Module eval() {
        return train(false);
    }

    /**
     * Whether this module is in training mode, PyTorch's {@code training}.
     *
     * @return true after {@link #train()} (and when new), false after {@link #eval()}
     */
    public final boolean isTraining() {
        return training;
    }

    /**
     * Switches the whole tree to {@code backend}: {@link Backend#REFERENCE} runs every layer on the plain
     * Java loops, so a whole network can be cross-checked against {@link Backend#ONEDNN}.
     *
     * @param backend where every layer of the tree runs from now on
     * @return this module
     */
    public final Module to(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        ensureOpen();
        for (Module m : namedModules().values()) {
            m.backend = backend;
            m.backendChanged(backend);
        }
        return this;
    }

    /**
     * Where this module's layers run.
     *
     * @return the backend set by {@link #to(Backend)}; {@link Backend#ONEDNN} by default
     */
    public final Backend backend() {
        return backend;
    }

    /**
     * Called when this module's backend changes; layers with native state may release it.
     *
     * @param newBackend the backend this module runs on from now on
     */
    protected void backendChanged(Backend newBackend) {}

    /**
     * Compiles this module's inference for one input shape: traces {@link #forward} once, fuses and plans it onto
     * oneDNN (see {@link CompiledModule}). The module must be in eval mode; its forward must run only the library's
     * layers and tensor operations.
     *
     * @param options the input shape and the compile settings
     * @return a new module owning its compiled form; close it (closing this module does not)
     * @throws IllegalStateException if this module is in training mode, closed, or its forward does something
     *     tracing cannot record (the message names the operation and the last layer recorded)
     * @throws IllegalArgumentException if the input shape does not fit the module, or bf16 is asked for on a CPU
     *     without native bf16
     */
    public CompiledModule compile(CompileOptions options) {
        ensureOpen();
        return CompiledModule.compile(this, options);
    }

    /**
     * {@link #compile(CompileOptions)} with the default options for {@code inputShape}: contiguous input and
     * output, float32.
     *
     * @param inputShape the (N, C, H, W) input shape
     * @return a new compiled module
     */
    public CompiledModule compile(long... inputShape) {
        return compile(CompileOptions.forInput(inputShape));
    }

    /**
     * Sets how many OpenMP threads each oneDNN call of this tree's layers uses, overriding
     * {@code OneDnn.setNumThreads} for them: an inference server running P models on P caller threads gives each
     * {@code cores / P} threads instead of oversubscribing the cores P times. OpenMP keeps the count per calling
     * thread: the layers set it on the calling thread before they create or run a primitive (one native call when
     * it changes), so models with different counts can share caller threads. Layers build new plans for a new count
     * on their next call. Modules added to the tree later take its setting.
     *
     * @param threads OpenMP threads per oneDNN call, or 0 to follow {@code OneDnn.setNumThreads} again
     * @return this module
     * @throws IllegalArgumentException if {@code threads} is negative
     */
    public final Module numThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException(
                    "the number of threads must be >= 1, or 0 to follow OneDnn.setNumThreads, got " + threads);
        }
        ensureOpen();
        for (Module m : namedModules().values()) {
            m.threads = threads;
            m.threadsChanged(threads);
        }
        return this;
    }

    /**
     * The thread count set by {@link #numThreads(int)}.
     *
     * @return OpenMP threads per oneDNN call of this module's layers, or 0 when they follow
     *     {@code OneDnn.setNumThreads}
     */
    public final int numThreads() {
        return threads;
    }

    /**
     * Called when this module's thread count changes.
     *
     * @param threads the count from now on, or 0 for the process-wide setting
     */
    void threadsChanged(int threads) {}

    /** Gives this subtree {@code parent}'s backend and thread count, as a newly attached child. */
    private void inherit(Module parent) {
        for (Module m : namedModules().values()) {
            m.backend = parent.backend;
            m.backendChanged(parent.backend);
            m.threads = parent.threads;
            m.threadsChanged(parent.threads);
        }
    }

    // ---- lifetime --------------------------------------------------------------------------------

    /**
     * Closes the whole tree: every parameter and buffer is freed, every child closed. Idempotent; any
     * use afterwards throws {@link IllegalStateException}.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (Module c : children.values()) {
            try {
                c.close();
            } catch (RuntimeException e) {
                failure = addTo(failure, e);
            }
        }
        try {
            release();
        } catch (RuntimeException e) {
            failure = addTo(failure, e);
        }
        for (Tensor t : parameters.values()) {
            if (t != null) {
                t.close();
            }
        }
        for (Tensor t : buffers.values()) {
            if (t != null) {
                t.close();
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RuntimeException addTo(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** Frees resources of the module itself beyond its tensors (native plans); called once by close(). */
    protected void release() {}

    /**
     * Whether {@link #close()} has been called.
     *
     * @return true once closed; every use then throws {@link IllegalStateException}
     */
    public final boolean isClosed() {
        return closed;
    }

    /** Modules are identities, as in PyTorch: equal only to themselves, whatever their state. */
    @Override
    public final boolean equals(Object other) {
        return this == other;
    }

    @Override
    public final int hashCode() {
        return System.identityHashCode(this);
    }

    /** Throws {@link IllegalStateException} naming this module if it has been closed. */
    protected final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(getName() + "(" + extraRepr() + ") is closed");
        }
    }

    // ---- repr ------------------------------------------------------------------------------------

    /**
     * The name in repr and error messages: the class's simple name.
     *
     * @return e.g. {@code Conv2d}; {@code Module} for an anonymous class
     */
    public String getName() {
        String n = getClass().getSimpleName();
        return n.isEmpty() ? "Module" : n;
    }

    /**
     * The module's own settings for its repr, e.g. {@code 16, 33, kernel_size=(3, 3), stride=(2, 2)}.
     *
     * @return the settings as PyTorch's {@code extra_repr()} prints them; empty by default
     */
    public String extraRepr() {
        return "";
    }

    /** Like PyTorch's repr: the name, extra repr, then each child indented as {@code (name): repr}. */
    @Override
    public String toString() {
        List<String> lines = new ArrayList<>();
        String extra = extraRepr();
        List<String> extraLines = extra.isEmpty() ? List.of() : List.of(extra.split("\n"));
        lines.addAll(extraLines);
        lines.addAll(childLines());
        StringBuilder sb = new StringBuilder(getName()).append('(');
        if (!lines.isEmpty()) {
            if (extraLines.size() == 1 && lines.size() == 1) {
                sb.append(extraLines.getFirst());
            } else {
                sb.append("\n  ").append(String.join("\n  ", lines)).append('\n');
            }
        }
        return sb.append(')').toString();
    }

    /** One {@code (name): repr} line per child; containers may group repeated children. */
    List<String> childLines() {
        List<String> out = new ArrayList<>();
        children.forEach((k, c) -> out.add("(" + k + "): " + indent(c.toString())));
        return out;
    }

    static String indent(String s) {
        return s.replace("\n", "\n  ");
    }

    final Map<String, Module> childMap() {
        return children;
    }
}
