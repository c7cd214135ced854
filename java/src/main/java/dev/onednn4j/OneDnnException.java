package dev.onednn4j;

/**
 * A {@code dnnl_*} call failed. Carries the status as oneDNN names it, the operation, and the shapes
 * involved. Set {@code ONEDNN_VERBOSE=check} in the environment to have oneDNN print why it refused.
 */
public final class OneDnnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String statusName;
    private final String operation;

    public OneDnnException(int status, String statusName, String operation, String context) {
        super(operation + " failed with status " + statusName + " (" + status + ")"
                + (context == null || context.isEmpty() ? "" : ": " + context)
                + ". Set ONEDNN_VERBOSE=check to have oneDNN print the reason.");
        this.status = status;
        this.statusName = statusName;
        this.operation = operation;
    }

    /** The {@code dnnl_status_t} value. */
    public int status() {
        return status;
    }

    /** oneDNN's name of the status, e.g. {@code invalid_arguments}. */
    public String statusName() {
        return statusName;
    }

    /** The C function that failed. */
    public String operation() {
        return operation;
    }
}
