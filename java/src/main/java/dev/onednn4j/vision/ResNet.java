package dev.onednn4j.vision;

import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Init;
import dev.onednn4j.nn.Linear;
import dev.onednn4j.nn.MaxPool2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.Tensor;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.random.RandomGenerator;

/**
 * The residual networks of "Deep Residual Learning for Image Recognition", with torchvision's exact module tree,
 * names and state-dict keys ({@code conv1}, {@code bn1}, {@code layer1.0.conv1.weight},
 * {@code layer2.0.downsample.1.running_var}, {@code fc.weight}, ...), so a state dict saved from torchvision loads
 * as is. {@link Models} builds the standard depths.
 *
 * <p>Input (N, 3, H, W) (224x224 for ImageNet; any size of at least 32 works), output (N, numClasses) logits.
 * Weights start as torchvision initialises them (He normal for convolutions, ones and zeros for BatchNorm).
 */
public class ResNet extends Module {

    /** The two blocks of torchvision's ResNet. */
    public enum Block {
        /** Two 3x3 convolutions (ResNet-18, -34); expansion 1. */
        BASIC(1),
        /** 1x1, 3x3, 1x1 convolutions (ResNet-50, -101, -152); expansion 4. */
        BOTTLENECK(4);

        private final int expansion;

        Block(int expansion) {
            this.expansion = expansion;
        }

        /**
         * Output channels per planes.
         *
         * @return 1 for {@link #BASIC}, 4 for {@link #BOTTLENECK}
         */
        public int expansion() {
            return expansion;
        }
    }

    private int inplanes = 64;

    /**
     * {@code torchvision.models.ResNet(block, layers, num_classes, norm_layer=normLayer)}.
     *
     * @param block      the residual block of every stage
     * @param layers     blocks per stage, e.g. {2, 2, 2, 2} for ResNet-18
     * @param numClasses the outputs of the final {@code fc} layer, PyTorch's {@code num_classes}; positive
     * @param normLayer  builds the normalization after each convolution from its channel count (torchvision's
     *                   {@code norm_layer}; {@code BatchNorm2d::new} by default)
     * @param rng        the initial weights' generator
     * @throws IllegalArgumentException if {@code layers} does not have 4 elements or {@code numClasses} is not
     *     positive
     */
    // registering children is what a module's constructor is for, as in PyTorch; newBlock is a documented hook,
    // called before a subclass's own fields are set
    @SuppressWarnings("this-escape")
    public ResNet(
            Block block, int[] layers, int numClasses, IntFunction<? extends Module> normLayer, RandomGenerator rng) {
        Objects.requireNonNull(block, "block");
        Objects.requireNonNull(normLayer, "normLayer");
        if (layers.length != 4) {
            throw new IllegalArgumentException("layers must give the blocks of 4 stages, got " + layers.length);
        }
        if (numClasses <= 0) {
            throw new IllegalArgumentException("num_classes must be positive, got " + numClasses);
        }
        registerModule(
                "conv1",
                Conv2d.builder(3, 64, 7).stride(2).padding(3).bias(false).build());
        registerModule("bn1", normLayer.apply(64));
        registerModule("relu", new ReLU(true));
        registerModule("maxpool", MaxPool2d.builder(3).stride(2).padding(1).build());
        registerModule("layer1", makeLayer(block, 64, layers[0], 1, normLayer));
        registerModule("layer2", makeLayer(block, 128, layers[1], 2, normLayer));
        registerModule("layer3", makeLayer(block, 256, layers[2], 2, normLayer));
        registerModule("layer4", makeLayer(block, 512, layers[3], 2, normLayer));
        registerModule("avgpool", new AdaptiveAvgPool2d(1, 1));
        registerModule("fc", new Linear(512 * block.expansion(), numClasses));
        initialise(this, Objects.requireNonNull(rng, "rng"));
    }

    /**
     * ResNet with BatchNorm2d and a randomly seeded generator.
     *
     * @param block      the residual block of every stage
     * @param layers     blocks per stage, e.g. {3, 4, 6, 3} for ResNet-50
     * @param numClasses the outputs of the final {@code fc} layer; positive
     * @throws IllegalArgumentException if {@code layers} does not have 4 elements or {@code numClasses} is not
     *     positive
     */
    public ResNet(Block block, int[] layers, int numClasses) {
        this(block, layers, numClasses, BatchNorm2d::new, new SplittableRandom());
    }

    private Sequential makeLayer(
            Block block, int planes, int blocks, int stride, IntFunction<? extends Module> normLayer) {
        Module downsample = null;
        if (stride != 1 || inplanes != planes * block.expansion()) {
            downsample = new Sequential(
                    Conv2d.builder(inplanes, planes * block.expansion(), 1)
                            .stride(stride)
                            .bias(false)
                            .build(),
                    normLayer.apply(planes * block.expansion()));
        }
        Sequential layer = new Sequential(newBlock(block, inplanes, planes, stride, downsample, normLayer));
        inplanes = planes * block.expansion();
        for (int i = 1; i < blocks; i++) {
            layer.add(newBlock(block, inplanes, planes, 1, null, normLayer));
        }
        return layer;
    }

    /**
     * A block; subclasses may return their own (for instance to study a variant).
     *
     * <p>Called from the constructor, before a subclass's own fields are set.
     *
     * @param block      the kind of block the network was built with
     * @param inplanes   the block's input channels
     * @param planes     the block's width; it outputs {@code planes * block.expansion()} channels
     * @param stride     the stride of the block's strided convolution (2 where a stage halves the resolution)
     * @param downsample the module the identity goes through when the shape changes (the block must register it
     *                   under {@code downsample}), or null
     * @param normLayer  builds the normalization after each convolution from its channel count
     * @return a new block, which the network registers and owns
     */
    protected Module newBlock(
            Block block,
            int inplanes,
            int planes,
            int stride,
            Module downsample,
            IntFunction<? extends Module> normLayer) {
        return block == Block.BASIC
                ? new BasicBlock(inplanes, planes, stride, downsample, normLayer)
                : new Bottleneck(inplanes, planes, stride, downsample, normLayer);
    }

    /** torchvision's initialisation: He normal (fan out) for every convolution, ones and zeros for BatchNorm. */
    static void initialise(Module net, RandomGenerator rng) {
        for (Module m : net.namedModules().values()) {
            if (m instanceof Conv2d c) {
                Init.kaimingNormal(c.weight(), Init.FanMode.FAN_OUT, rng);
            } else if (m instanceof BatchNorm2d bn && bn.weight() != null) {
                Init.constant(bn.weight(), 1);
                Init.constant(bn.bias(), 0);
            }
        }
    }

    /** (N, 3, H, W) images to (N, numClasses) logits. */
    @Override
    public Tensor forward(Tensor x) {
        ensureOpen();
        try (Tensor features =
                        chain(x, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool");
                Tensor flat = features.flatten(1)) {
            return child("fc").forward(flat);
        }
    }

    /**
     * torchvision's BasicBlock: {@code relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)}, the identity passed
     * through {@code downsample} when the shape changes.
     */
    public static class BasicBlock extends ResidualBlock {

        /**
         * {@code torchvision.models.resnet.BasicBlock(inplanes, planes, stride, downsample, norm_layer=normLayer)}.
         *
         * @param inplanes   the input channels
         * @param planes     the output channels (expansion 1)
         * @param stride     the stride of {@code conv1}
         * @param downsample the identity's path when the shape changes, registered as {@code downsample}; or null
         * @param normLayer  builds {@code bn1} and {@code bn2} from their channel count
         */
        @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
        public BasicBlock(
                int inplanes, int planes, int stride, Module downsample, IntFunction<? extends Module> normLayer) {
            registerModule(
                    "conv1",
                    Conv2d.builder(inplanes, planes, 3)
                            .stride(stride)
                            .padding(1)
                            .bias(false)
                            .build());
            registerModule("bn1", normLayer.apply(planes));
            registerModule("relu", new ReLU(true));
            registerModule(
                    "conv2",
                    Conv2d.builder(planes, planes, 3).padding(1).bias(false).build());
            registerModule("bn2", normLayer.apply(planes));
            registerDownsample(downsample);
        }

        @Override
        public Tensor forward(Tensor x) {
            ensureOpen();
            return addIdentityAndRelu(x, chain(x, "conv1", "bn1", "relu", "conv2", "bn2"));
        }
    }

    /**
     * torchvision's Bottleneck (ResNet V1.5, stride in the 3x3):
     * {@code relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + identity)}.
     */
    public static class Bottleneck extends ResidualBlock {

        /**
         * {@code torchvision.models.resnet.Bottleneck(inplanes, planes, stride, downsample, norm_layer=normLayer)}.
         *
         * @param inplanes   the input channels
         * @param planes     the width of the 3x3 convolution; the block outputs {@code planes * 4} channels
         * @param stride     the stride of {@code conv2}, the 3x3
         * @param downsample the identity's path when the shape changes, registered as {@code downsample}; or null
         * @param normLayer  builds {@code bn1}, {@code bn2} and {@code bn3} from their channel count
         */
        @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
        public Bottleneck(
                int inplanes, int planes, int stride, Module downsample, IntFunction<? extends Module> normLayer) {
            int width = planes;
            registerModule(
                    "conv1", Conv2d.builder(inplanes, width, 1).bias(false).build());
            registerModule("bn1", normLayer.apply(width));
            registerModule(
                    "conv2",
                    Conv2d.builder(width, width, 3)
                            .stride(stride)
                            .padding(1)
                            .bias(false)
                            .build());
            registerModule("bn2", normLayer.apply(width));
            registerModule(
                    "conv3", Conv2d.builder(width, planes * 4, 1).bias(false).build());
            registerModule("bn3", normLayer.apply(planes * 4));
            registerModule("relu", new ReLU(true));
            registerDownsample(downsample);
        }

        @Override
        public Tensor forward(Tensor x) {
            ensureOpen();
            return addIdentityAndRelu(x, chain(x, "conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"));
        }
    }

    /** What both blocks share: the optional {@code downsample} of the identity, and the block's end. */
    public abstract static class ResidualBlock extends Module {
        private boolean downsample;

        /** A block with no layers yet: the subclass registers them. */
        protected ResidualBlock() {}

        /**
         * Registers {@code downsample} (as torchvision, only when there is one: it is then in the tree).
         *
         * @param downsample the identity's path, owned by this block from now on; or null for none
         */
        protected final void registerDownsample(Module downsample) {
            if (downsample != null) {
                registerModule("downsample", downsample);
                this.downsample = true;
            }
        }

        /**
         * The end of both blocks, in place as torchvision's: {@code out += identity; out = relu(out)}, the identity
         * being {@code downsample(x)} where there is one. Takes ownership of {@code out}.
         *
         * @param x   the block's input; stays the caller's
         * @param out the output of the block's last normalization, closed by this method
         * @return {@code relu(out + identity)}, a new tensor the caller closes
         */
        protected final Tensor addIdentityAndRelu(Tensor x, Tensor out) {
            try (out) {
                if (downsample) {
                    try (Tensor identity = child("downsample").forward(x)) {
                        out.add_(identity);
                    }
                } else {
                    out.add_(x);
                }
                return child("relu").forward(out);
            }
        }
    }
}
