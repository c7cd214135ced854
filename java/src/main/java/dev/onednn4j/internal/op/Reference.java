package dev.onednn4j.internal.op;

/** Small helpers the reference loops share. */
final class Reference {
    private Reference() {
    }

    /** Each double rounded to the nearest float. */
    static float[] toFloats(double[] y) {
        float[] f = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            f[i] = (float) y[i];
        }
        return f;
    }
}
