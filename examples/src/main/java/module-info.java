/** onednn4j's example application: image classification with a torchvision ResNet. */
module dev.onednn4j.examples {
    requires dev.onednn4j;
    requires java.desktop; // javax.imageio reads the image
}
