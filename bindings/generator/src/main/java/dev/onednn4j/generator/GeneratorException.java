package dev.onednn4j.generator;

/** Generation stopped: a header error, a symbol of the allow-list not found, or one that cannot be lowered. */
public final class GeneratorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GeneratorException(String message) {
        super(message);
    }

    public GeneratorException(String message, Throwable cause) {
        super(message, cause);
    }
}
