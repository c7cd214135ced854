package dev.onednn4j.demo;

import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.ModuleList;
import dev.onednn4j.tensor.Tensor;

/** The seed notebook's three networks, written with onednn4j's API. */
public final class SeedNetworks {
    private SeedNetworks() {}

    /** Two convolutions: 4 parameter arrays. */
    public static final class TwoConvNet extends Module {
        final Conv2d conv1 = registerModule(
                "conv1", Conv2d.builder(1, 8, 3).padding(1).seed(1).build());
        final Conv2d conv2 = registerModule(
                "conv2", Conv2d.builder(8, 16, 3).padding(1).seed(2).build());

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor h = conv1.forward(x)) {
                return conv2.forward(h);
            }
        }
    }

    /** A residual block of two convolutions: {@code x + conv2(conv1(x))}. */
    public static final class ResidualBlock extends Module {
        final Conv2d conv1;
        final Conv2d conv2;

        public ResidualBlock(int channels, long seed) {
            conv1 = registerModule(
                    "conv1",
                    Conv2d.builder(channels, channels, 3).padding(1).seed(seed).build());
            conv2 = registerModule(
                    "conv2",
                    Conv2d.builder(channels, channels, 3)
                            .padding(1)
                            .seed(seed + 1)
                            .build());
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor h = conv1.forward(x);
                    Tensor r = conv2.forward(h)) {
                return r.add(x);
            }
        }
    }

    /** Two residual blocks: 8 parameter arrays. */
    public static final class TwoBlockNet extends Module {
        final ResidualBlock block1 = registerModule("block1", new ResidualBlock(16, 10));
        final ResidualBlock block2 = registerModule("block2", new ResidualBlock(16, 20));

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor h = block1.forward(x)) {
                return block2.forward(h);
            }
        }
    }

    /** Ten residual blocks in a list: 40 parameter arrays, named {@code blocks.0.conv1.weight} and so on. */
    public static final class DeepNet extends Module {
        final ModuleList blocks = registerModule("blocks", new ModuleList());

        public DeepNet() {
            for (int i = 0; i < 10; i++) {
                blocks.add(new ResidualBlock(16, 100 + 2 * i));
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = x;
            for (Module b : blocks) {
                Tensor next = b.forward(h);
                if (h != x) {
                    h.close();
                }
                h = next;
            }
            return h == x ? x.toMemoryFormat(x.memoryFormat()) : h;
        }
    }
}
