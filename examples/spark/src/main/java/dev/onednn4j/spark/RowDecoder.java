package dev.onednn4j.spark;

import java.io.Serializable;
import java.lang.foreign.MemorySegment;

/**
 * Turns one input row into the model's input: writes its (C, H, W) floats into its slot of the batch tensor.
 *
 * @param <T> the row type
 */
public interface RowDecoder<T> extends Serializable {

    /**
     * The row's identifier, for the output.
     *
     * @param row an input row
     * @return its id (may be null)
     */
    String id(T row);

    /**
     * Writes the row's 3 x height x width floats, in (C, H, W) order, into {@code slot}.
     *
     * @param row  an input row
     * @param slot exactly 3 x height x width floats of native memory
     * @throws BadRowException if the row cannot be used (the message says why, with the offending value)
     */
    void decode(T row, MemorySegment slot) throws BadRowException;

    /** A row that cannot be classified; its message goes into the output's error column. */
    final class BadRowException extends Exception {
        private static final long serialVersionUID = 1L;

        /**
         * A bad row.
         *
         * @param message what is wrong, with the offending value
         */
        public BadRowException(String message) {
            super(message);
        }
    }
}
