/**
 * onednn4j: CNN inference on oneDNN with a PyTorch-like API. {@link dev.onednn4j.tensor.Tensor},
 * {@link dev.onednn4j.nn.Module} and the layers of {@code dev.onednn4j.nn}, torchvision's models in
 * {@code dev.onednn4j.vision}, safetensors in {@code dev.onednn4j.io}, and facts about the oneDNN in use in
 * {@link dev.onednn4j.OneDnn}. Everything under {@code dev.onednn4j.internal} stays inside.
 *
 * <p>It makes native calls: grant them with
 * {@code --enable-native-access=dev.onednn4j,dev.onednn4j.bindings,dev.onednn4j.natives}.
 */
module dev.onednn4j {
    requires dev.onednn4j.bindings;
    requires dev.onednn4j.natives;
    requires com.google.gson;
    requires dev.onednn4j.onnxproto;

    exports dev.onednn4j;
    exports dev.onednn4j.tensor;
    exports dev.onednn4j.nn;
    exports dev.onednn4j.io;
    exports dev.onednn4j.vision;
    exports dev.onednn4j.onnx;
}
