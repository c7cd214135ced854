package dev.onednn4j.internal.memory;

import java.util.Objects;

/**
 * How the packages above the machinery (modules, ONNX models, file formats), which take and return public tensors,
 * reach the {@link TensorImpl} under one and give a new one its public face. The public tensor class registers the
 * two conversions when it is initialised; nothing under {@code dev.onednn4j.internal} converts, so the machinery
 * never sees the public class.
 */
public final class Faces {
    private static Class<?> registered;
    private static Face<?> face;

    private Faces() {}

    /**
     * The two conversions between a public face and its impl.
     *
     * @param <T> the public tensor class
     */
    public interface Face<T> {
        /** The impl under {@code face}. */
        TensorImpl impl(T face);

        /** A new public face over {@code impl}, which it owns from now on (closing the face closes the impl). */
        T of(TensorImpl impl);
    }

    /** Called once, by the public tensor class's static initialiser. */
    public static synchronized <T> void register(Class<T> type, Face<T> conversions) {
        if (registered != null) {
            throw new IllegalStateException("a tensor face is already registered: " + registered.getName());
        }
        registered = Objects.requireNonNull(type);
        face = Objects.requireNonNull(conversions);
    }

    /**
     * The conversions of {@code type}, initialising it (which registers them) if it is not yet.
     *
     * @throws IllegalStateException if {@code type} registers none
     */
    @SuppressWarnings("unchecked") // checked: the class registered with them is type
    public static <T> Face<T> of(Class<T> type) {
        try {
            Class.forName(type.getName(), true, type.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        synchronized (Faces.class) {
            if (registered != type) {
                throw new IllegalStateException(type.getName() + " registered no tensor face");
            }
            return (Face<T>) face;
        }
    }
}
