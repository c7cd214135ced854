package dev.onednn4j;

/**
 * A {@code dnnl_*} call failed. Carries the status as oneDNN names it, the operation, and the shapes
 * involved. Set {@code ONEDNN_VERBOSE=check} in the environment to have oneDNN print why it refused.
 */
public final class OneDnnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The {@code dnnl_status_t} value. */
    private final int status;
    /** oneDNN's name of the status. */
    private final String statusName;
    /** The C function that failed. */
    private final String operation;

    /**
     * An exception whose message names the operation, the status and the context, and points to
     * {@code ONEDNN_VERBOSE=check}.
     *
     * @param status     the {@code dnnl_status_t} value the call returned
     * @param statusName oneDNN's name of the status, e.g. {@code invalid_arguments}
     * @param operation  the C function that failed, e.g. {@code dnnl_convolution_forward_primitive_desc_create}
     * @param context    the shapes and arguments involved, or null or empty for none
     */
    public OneDnnException(int status, String statusName, String operation, String context) {
        super(operation + " failed with status " + statusName + " (" + status + ")"
                + (context == null || context.isEmpty() ? "" : ": " + context)
                + ". Set ONEDNN_VERBOSE=check to have oneDNN print the reason.");
        this.status = status;
        this.statusName = statusName;
        this.operation = operation;
    }

    /**
     * The {@code dnnl_status_t} value.
     *
     * @return the status code, e.g. 2 for {@code invalid_arguments}
     */
    public int status() {
        return status;
    }

    /**
     * oneDNN's name of the status, e.g. {@code invalid_arguments}.
     *
     * @return the name, as {@code dnnl_status2str} gives it
     */
    public String statusName() {
        return statusName;
    }

    /**
     * The C function that failed.
     *
     * @return its name, e.g. {@code dnnl_primitive_execute}
     */
    public String operation() {
        return operation;
    }
}
