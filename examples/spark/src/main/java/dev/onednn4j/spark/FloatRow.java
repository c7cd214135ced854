package dev.onednn4j.spark;

import java.io.Serializable;

/**
 * A float-array input row as Spark's bean encoder reads it: the features column arrives as a {@code float[]} (one
 * copy out of Spark's row, no boxing). A JavaBean because that is what {@code Encoders.bean} maps.
 */
public final class FloatRow implements Serializable {
    private static final long serialVersionUID = 1L;

    private String id;
    private float[] features;
    private boolean nullElements;

    /** An empty row, for the encoder. */
    public FloatRow() {}

    /**
     * The row's id.
     *
     * @return the id column, as a string
     */
    public String getId() {
        return id;
    }

    /**
     * Sets the id.
     *
     * @param id the id
     */
    public void setId(String id) {
        this.id = id;
    }

    /**
     * The features.
     *
     * @return 3 x H x W floats in (C, H, W) order, or null
     */
    public float[] getFeatures() {
        return features;
    }

    /**
     * Sets the features (not copied).
     *
     * @param features the floats
     */
    public void setFeatures(float[] features) {
        this.features = features;
    }

    /**
     * Whether the array held null elements (then {@link #getFeatures()} is null).
     *
     * @return true if the row's array had nulls
     */
    public boolean getNullElements() {
        return nullElements;
    }

    /**
     * Sets whether the array held null elements.
     *
     * @param nullElements true if it had nulls
     */
    public void setNullElements(boolean nullElements) {
        this.nullElements = nullElements;
    }
}
