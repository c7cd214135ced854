package dev.onednn4j.vision;

import dev.onednn4j.nn.BatchNorm2d;
import java.util.SplittableRandom;

/**
 * torchvision's classification models, built with torchvision's exact module trees and state-dict keys, randomly
 * initialised as torchvision initialises them. Load trained weights with
 * {@code model.loadStateDict(SafeTensors.load(path).tensors(), true)} (a state dict saved from torchvision, e.g.
 * {@code safetensors.torch.save_file(model.state_dict(), path)}), and call {@code eval()} before inference, as in
 * PyTorch:
 *
 * <pre>{@code
 * try (Module net = Models.resnet18();
 *      SafeTensors weights = SafeTensors.load(Path.of("resnet18.safetensors"))) {
 *     net.loadStateDict(weights.tensors(), true);
 *     net.eval();
 *     try (Tensor logits = net.forward(images)) { ... }          // (N, 3, 224, 224) -> (N, 1000)
 * }
 * }</pre>
 */
public final class Models {
    private Models() {}

    /**
     * {@code torchvision.models.resnet18()}: 1000 classes.
     *
     * @return a new, randomly initialised network in training mode, owned by the caller
     */
    public static ResNet resnet18() {
        return resnet18(1000);
    }

    /**
     * {@code torchvision.models.resnet18(num_classes=numClasses)}.
     *
     * @param numClasses the outputs of the final {@code fc} layer; positive
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} is not positive
     */
    public static ResNet resnet18(int numClasses) {
        return new ResNet(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, numClasses);
    }

    /**
     * {@code torchvision.models.resnet34(num_classes=numClasses)}.
     *
     * @param numClasses the outputs of the final {@code fc} layer (1000 for ImageNet); positive
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} is not positive
     */
    public static ResNet resnet34(int numClasses) {
        return new ResNet(ResNet.Block.BASIC, new int[] {3, 4, 6, 3}, numClasses);
    }

    /**
     * {@code torchvision.models.resnet50()}: 1000 classes.
     *
     * @return a new, randomly initialised network in training mode, owned by the caller
     */
    public static ResNet resnet50() {
        return resnet50(1000);
    }

    /**
     * {@code torchvision.models.resnet50(num_classes=numClasses)}.
     *
     * @param numClasses the outputs of the final {@code fc} layer; positive
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} is not positive
     */
    public static ResNet resnet50(int numClasses) {
        return new ResNet(ResNet.Block.BOTTLENECK, new int[] {3, 4, 6, 3}, numClasses);
    }

    /**
     * {@code torchvision.models.resnet101(num_classes=numClasses)}.
     *
     * @param numClasses the outputs of the final {@code fc} layer (1000 for ImageNet); positive
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} is not positive
     */
    public static ResNet resnet101(int numClasses) {
        return new ResNet(ResNet.Block.BOTTLENECK, new int[] {3, 4, 23, 3}, numClasses);
    }

    /**
     * {@code torchvision.models.mobilenet_v2()}: 1000 classes.
     *
     * @return a new, randomly initialised network in training mode, owned by the caller
     */
    public static MobileNetV2 mobilenetV2() {
        return mobilenetV2(1000);
    }

    /**
     * {@code torchvision.models.mobilenet_v2(num_classes=numClasses)}.
     *
     * @param numClasses the outputs of the final {@code classifier.1} layer; positive
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} is not positive
     */
    public static MobileNetV2 mobilenetV2(int numClasses) {
        return mobilenetV2(numClasses, 1.0);
    }

    /**
     * {@code torchvision.models.mobilenet_v2(num_classes=numClasses, width_mult=widthMult)}.
     *
     * @param numClasses the outputs of the final {@code classifier.1} layer; positive
     * @param widthMult  the factor on every layer's channels (1.0 for the standard network); positive and finite
     * @return a new, randomly initialised network in training mode, owned by the caller
     * @throws IllegalArgumentException if {@code numClasses} or {@code widthMult} is out of range
     */
    public static MobileNetV2 mobilenetV2(int numClasses, double widthMult) {
        return new MobileNetV2(numClasses, widthMult, 0.2, BatchNorm2d::new, new SplittableRandom());
    }
}
