package dev.onednn4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hand-written ONNX model loads in ONNX Runtime and computes the convolution the reference does. */
class OnnxConvModelTest {

    @ParameterizedTest
    @ValueSource(strings = {"seed-11x7x30x30-k7s3p2", "mobilenet-dw-1x32x112", "dilated-1x64x56-d2"})
    void onnxRuntimeRunsTheModelAndMatchesTheReference(String name) throws Exception {
        Shape s = Shape.named(name);
        Workload d = Workload.of(s);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(OnnxConvModel.conv(s, d.weights(), d.bias()), o);
                OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(d.input()), s.inputShape());
                OrtSession.Result r = session.run(Map.of("x", x))) {
            FloatBuffer y = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[y.remaining()];
            y.get(out);
            d.check("ONNX Runtime", out);
        }
    }
}
