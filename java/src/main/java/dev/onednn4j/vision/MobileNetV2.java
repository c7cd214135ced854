package dev.onednn4j.vision;

import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Dropout;
import dev.onednn4j.nn.Init;
import dev.onednn4j.nn.Linear;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ReLU6;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.random.RandomGenerator;

/**
 * MobileNetV2 ("Inverted Residuals and Linear Bottlenecks"), with torchvision's exact module tree, names and
 * state-dict keys ({@code features.0.0.weight}, {@code features.1.conv.0.0.weight}, {@code features.2.conv.3.bias},
 * {@code classifier.1.weight}, ...), so a state dict saved from torchvision loads as is. {@link Models} builds it.
 *
 * <p>Input (N, 3, H, W), output (N, numClasses) logits. The global average pooling before the classifier is, as in
 * torchvision, a call in {@code forward}, not a module of the tree.
 */
public class MobileNetV2 extends Module {

    /** torchvision's inverted residual setting: expansion t, channels c, repeats n, first stride s. */
    private static final int[][] SETTING = {
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}
    };

    private final AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(1, 1); // functional in torchvision: not registered

    /**
     * {@code torchvision.models.MobileNetV2(num_classes, width_mult, norm_layer=normLayer, dropout)} with
     * torchvision's round_nearest 8.
     *
     * @param numClasses the outputs of the final {@code classifier.1} layer, PyTorch's {@code num_classes}; positive
     * @param widthMult  the factor on every layer's channels, PyTorch's {@code width_mult} (1.0 for the standard
     *                   network); positive and finite
     * @param dropout    the probability of the dropout before the classifier (torchvision's 0.2); in [0, 1]
     * @param normLayer  builds the normalization after each convolution from its channel count (torchvision's
     *                   {@code norm_layer}; {@code BatchNorm2d::new} by default)
     * @param rng        the initial weights' generator
     * @throws IllegalArgumentException if an argument is out of range
     */
    @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
    public MobileNetV2(
            int numClasses,
            double widthMult,
            double dropout,
            IntFunction<? extends Module> normLayer,
            RandomGenerator rng) {
        Objects.requireNonNull(normLayer, "normLayer");
        if (numClasses <= 0) {
            throw new IllegalArgumentException("num_classes must be positive, got " + numClasses);
        }
        if (!(widthMult > 0) || Double.isInfinite(widthMult)) {
            throw new IllegalArgumentException("width_mult must be a positive number, got " + widthMult);
        }
        int inputChannel = makeDivisible(32 * widthMult, 8);
        int lastChannel = makeDivisible(1280 * Math.max(1.0, widthMult), 8);
        List<Module> features = new ArrayList<>();
        features.add(new Conv2dNormActivation(3, inputChannel, 3, 2, 1, normLayer));
        for (int[] tcns : SETTING) {
            int outputChannel = makeDivisible(tcns[1] * widthMult, 8);
            for (int i = 0; i < tcns[2]; i++) {
                features.add(
                        new InvertedResidual(inputChannel, outputChannel, i == 0 ? tcns[3] : 1, tcns[0], normLayer));
                inputChannel = outputChannel;
            }
        }
        features.add(new Conv2dNormActivation(inputChannel, lastChannel, 1, 1, 1, normLayer));
        registerModule("features", new Sequential(features.toArray(Module[]::new)));
        registerModule("classifier", new Sequential(new Dropout(dropout), new Linear(lastChannel, numClasses)));
        initialise(Objects.requireNonNull(rng, "rng"));
    }

    /**
     * MobileNetV2 with BatchNorm2d, dropout 0.2 and a randomly seeded generator.
     *
     * @param numClasses the outputs of the final {@code classifier.1} layer; positive
     * @param widthMult  the factor on every layer's channels (1.0 for the standard network); positive and finite
     * @throws IllegalArgumentException if {@code numClasses} or {@code widthMult} is out of range
     */
    public MobileNetV2(int numClasses, double widthMult) {
        this(numClasses, widthMult, 0.2, BatchNorm2d::new, new SplittableRandom());
    }

    /**
     * torchvision's {@code _make_divisible}: {@code v} rounded to the nearest multiple of {@code divisor}, at least
     * {@code divisor}, and not below 90% of {@code v}.
     */
    static int makeDivisible(double v, int divisor) {
        int rounded = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * v ? rounded + divisor : rounded;
    }

    /** torchvision's initialisation: He normal (fan out) convolutions, BatchNorm ones and zeros, Linear N(0, 0.01). */
    private void initialise(RandomGenerator rng) {
        for (Module m : namedModules().values()) {
            if (m instanceof Conv2d c) {
                Init.kaimingNormal(c.weight(), Init.FanMode.FAN_OUT, rng);
                if (c.bias() != null) {
                    Init.constant(c.bias(), 0);
                }
            } else if (m instanceof BatchNorm2d bn && bn.weight() != null) {
                Init.constant(bn.weight(), 1);
                Init.constant(bn.bias(), 0);
            } else if (m instanceof Linear l) {
                Init.normal(l.weight(), 0, 0.01, rng);
                Init.constant(l.bias(), 0);
            }
        }
    }

    /** (N, 3, H, W) images to (N, numClasses) logits. */
    @Override
    public Tensor forward(Tensor x) {
        ensureOpen();
        try (Tensor features = child("features").forward(x);
                Tensor pooled = pool.forward(features);
                Tensor flat = pooled.flatten(1)) {
            return child("classifier").forward(flat);
        }
    }

    @Override
    protected void backendChanged(Backend newBackend) {
        pool.to(newBackend); // not in the tree, so not reached by to(Backend) otherwise
    }

    @Override
    protected void release() {
        pool.close();
    }

    /**
     * torchvision's {@code Conv2dNormActivation}: a Sequential of a convolution without bias (padding
     * {@code (k - 1) / 2}), the normalization and ReLU6, named {@code 0}, {@code 1}, {@code 2}.
     */
    public static class Conv2dNormActivation extends Sequential {
        /**
         * {@code Conv2dNormActivation(in, out, kernel_size=kernel, stride=stride, groups=groups,
         * norm_layer=normLayer, activation_layer=nn.ReLU6)}.
         *
         * @param in        the input channels
         * @param out       the output channels
         * @param kernel    the square kernel's size (padded by {@code (kernel - 1) / 2})
         * @param stride    the convolution's stride
         * @param groups    the convolution's groups: {@code in} for a depthwise one
         * @param normLayer builds the normalization from the channel count {@code out}
         */
        public Conv2dNormActivation(
                int in, int out, int kernel, int stride, int groups, IntFunction<? extends Module> normLayer) {
            super(
                    Conv2d.builder(in, out, kernel)
                            .stride(stride)
                            .padding((kernel - 1) / 2)
                            .groups(groups)
                            .bias(false)
                            .build(),
                    normLayer.apply(out),
                    new ReLU6(true));
        }
    }

    /**
     * torchvision's {@code InvertedResidual}: {@code conv} is a Sequential of an expanding 1x1
     * Conv2dNormActivation (unless the expansion is 1), a depthwise 3x3 one, a projecting 1x1 convolution and its
     * normalization; the input is added back when the stride is 1 and the channels match.
     */
    public static class InvertedResidual extends Module {
        private final boolean useResConnect;

        /**
         * {@code InvertedResidual(inp, oup, stride, expand_ratio, norm_layer=normLayer)}.
         *
         * @param inp         the input channels
         * @param oup         the output channels
         * @param stride      the depthwise convolution's stride, 1 or 2
         * @param expandRatio the hidden channels per input channel, torchvision's t
         * @param normLayer   builds each normalization from its channel count
         * @throws IllegalArgumentException if {@code stride} is neither 1 nor 2
         */
        @SuppressWarnings("this-escape") // registering children is what a module's constructor is for, as in PyTorch
        public InvertedResidual(
                int inp, int oup, int stride, int expandRatio, IntFunction<? extends Module> normLayer) {
            if (stride != 1 && stride != 2) {
                throw new IllegalArgumentException("stride should be 1 or 2 instead of " + stride);
            }
            int hidden = (int) Math.round(inp * (double) expandRatio);
            useResConnect = stride == 1 && inp == oup;
            List<Module> layers = new ArrayList<>();
            if (expandRatio != 1) {
                layers.add(new Conv2dNormActivation(inp, hidden, 1, 1, 1, normLayer));
            }
            layers.add(new Conv2dNormActivation(hidden, hidden, 3, stride, hidden, normLayer));
            layers.add(Conv2d.builder(hidden, oup, 1).bias(false).build());
            layers.add(normLayer.apply(oup));
            registerModule("conv", new Sequential(layers.toArray(Module[]::new)));
        }

        @Override
        public Tensor forward(Tensor x) {
            ensureOpen();
            Tensor out = child("conv").forward(x);
            if (useResConnect) {
                try {
                    out.add_(x); // x + conv(x): addition commutes, so the same bits
                } catch (RuntimeException | Error e) {
                    out.close();
                    throw e;
                }
            }
            return out;
        }
    }
}
