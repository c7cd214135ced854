package dev.onednn4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * How every ONNX Runtime benchmark runs it: the CPU execution provider with all graph optimisations, {@code threads}
 * intra-op threads, one inter-op thread, sequential execution; the input in a direct buffer (not copied per call).
 */
public final class Ort {
    private Ort() {}

    /** A session on an ONNX model held in memory. */
    public static OrtSession session(OrtEnvironment env, byte[] model, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = options(threads)) {
            return env.createSession(model, options);
        }
    }

    /** A session on an ONNX file. */
    public static OrtSession session(OrtEnvironment env, String path, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = options(threads)) {
            return env.createSession(path, options);
        }
    }

    private static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    /** A float tensor over a direct copy of {@code data}. */
    public static OnnxTensor input(OrtEnvironment env, float[] data, long[] shape) throws OrtException {
        FloatBuffer buffer = ByteBuffer.allocateDirect(data.length * Float.BYTES)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        buffer.put(data).flip();
        return OnnxTensor.createTensor(env, buffer, shape);
    }

    /** One run, its first output copied out (for the set-up's check against the reference). */
    public static float[] firstOutput(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        try (OrtSession.Result r = session.run(inputs)) {
            FloatBuffer y = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[y.remaining()];
            y.get(out);
            return out;
        }
    }
}
