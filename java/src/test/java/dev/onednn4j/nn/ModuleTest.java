package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Module behaviour not tied to a particular network: names, state dicts, modes, backends, repr, close, sharing,
 * containers, submodules.
 */
class ModuleTest {

    /** A residual block of two convolutions, as the seed notebook's. */
    static final class Block extends Module {
        final Conv2d conv1;
        final Conv2d conv2;

        Block(int channels, long seed) {
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

    /** Two blocks, then a list of three: names through children and containers. */
    static final class Net extends Module {
        final Block block1 = registerModule("block1", new Block(4, 10));
        final ModuleList blocks =
                registerModule("blocks", new ModuleList(new Block(4, 20), new Block(4, 30), new Block(4, 40)));

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = block1.forward(x);
            for (Module b : blocks) {
                try (Tensor prev = h) {
                    h = b.forward(prev);
                }
            }
            return h;
        }
    }

    @Test
    void namesFollowTheTreeAsPyTorchsDo() {
        try (Net net = new Net()) {
            assertEquals(16, net.parameters().size());
            assertEquals(
                    List.of(
                            "block1.conv1.weight",
                            "block1.conv1.bias",
                            "block1.conv2.weight",
                            "block1.conv2.bias",
                            "blocks.0.conv1.weight"),
                    List.copyOf(net.namedParameters().keySet()).subList(0, 5));
            assertSame(((Block) net.blocks.get(2)).conv2.bias(), net.stateDict().get("blocks.2.conv2.bias"));
            assertEquals(
                    List.of("", "block1", "block1.conv1", "block1.conv2", "blocks", "blocks.0", "blocks.0.conv1"),
                    List.copyOf(net.namedModules().keySet()).subList(0, 7));
            assertEquals(List.of(net.block1, net.blocks), net.children());
            assertSame(((Block) net.blocks.get(1)).conv1, net.getSubmodule("blocks.1.conv1"));
            assertSame(net, net.getSubmodule(""));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> net.getSubmodule("blocks.7.conv1"));
            assertEquals("ModuleList at 'blocks' has no attribute '7' (looking up 'blocks.7.conv1')", e.getMessage());
        }
    }

    @Test
    void stateDictRoundTripsBetweenModels() {
        try (Net a = new Net();
                Net b = new Net();
                Tensor x = Tensor.of(ramp(2 * 4 * 6 * 6), 2, 4, 6, 6)) {
            for (Tensor p : b.parameters()) {
                p.copyFrom(new float[Math.toIntExact(p.numel())]);
            }
            Module.LoadResult r = b.loadStateDict(a.stateDict(), true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            try (Tensor ya = a.forward(x);
                    Tensor yb = b.forward(x)) {
                assertArrayEquals(ya.toFloatArray(), yb.toFloatArray());
            }
        }
    }

    @Test
    void loadStateDictReportsEveryProblemTogetherAndCopiesNothing() {
        try (Block net = new Block(1, 1);
                Tensor wrong = Tensor.zeros(1, 2, 3, 3);
                Tensor extra = Tensor.zeros(3);
                Tensor bias = Tensor.zeros(1)) {
            float[] before = net.conv1.bias().toFloatArray();
            Map<String, Tensor> dict = new HashMap<>();
            dict.put("conv1.weight", wrong);
            dict.put("conv1.bias", bias);
            dict.put("fc.weight", extra);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(dict, true));
            assertEquals(
                    "Error(s) in loading state_dict for Block:\n"
                            + "\tMissing key(s) in state_dict: \"conv2.weight\", \"conv2.bias\". \n"
                            + "\tUnexpected key(s) in state_dict: \"fc.weight\". \n"
                            + "\tsize mismatch for conv1.weight: copying a param with shape [1, 2, 3, 3] from checkpoint, "
                            + "the shape in current model is [1, 1, 3, 3].",
                    e.getMessage());
            assertArrayEquals(before, net.conv1.bias().toFloatArray(), "nothing copied");

            // not strict: a shape mismatch is still an error, missing and unexpected keys are returned
            IllegalArgumentException e2 =
                    assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(dict, false));
            assertTrue(e2.getMessage().contains("size mismatch for conv1.weight"), e2.getMessage());
            dict.remove("conv1.weight");
            Module.LoadResult r = net.loadStateDict(dict, false);
            assertEquals(List.of("conv1.weight", "conv2.weight", "conv2.bias"), r.missingKeys());
            assertEquals(List.of("fc.weight"), r.unexpectedKeys());
            assertArrayEquals(new float[1], net.conv1.bias().toFloatArray(), "the matching key was loaded");
        }
    }

    @Test
    void loadStateDictIsAllOrNothingWhenATensorIsClosed() {
        try (Block net = new Block(1, 1)) {
            Map<String, Tensor> dict = new HashMap<>();
            for (var e : net.stateDict().entrySet()) {
                dict.put(e.getKey(), Tensor.zeros(e.getValue().shape()));
            }
            dict.get("conv2.bias").close();
            float[] before = net.conv1.weight().toFloatArray();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(dict, true));
            assertTrue(e.getMessage().contains("conv2.bias: the checkpoint's tensor is closed"), e.getMessage());
            assertArrayEquals(before, net.conv1.weight().toFloatArray(), "nothing copied");
            dict.values().forEach(Tensor::close);
        }
    }

    @Test
    void loadStateDictConvertsDtypesAsCopyDoes() {
        try (Block net = new Block(1, 1);
                Tensor w = Tensor.zeros(DType.FLOAT64, 1, 1, 3, 3)) {
            w.copyFrom(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
            net.loadStateDict(Map.of("conv1.weight", w), false);
            assertEquals(DType.FLOAT32, net.conv1.weight().dtype(), "the module's tensor keeps its dtype");
            assertArrayEquals(
                    new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, net.conv1.weight().toFloatArray());
        }
    }

    @Test
    void threadCountsApplyToTheTreeAndToChildrenAddedLater() {
        try (Sequential net = new Sequential(new ReLU())) {
            assertEquals(0, net.numThreads());
            net.numThreads(1);
            for (Module m : net.namedModules().values()) {
                assertEquals(1, m.numThreads(), m.getName());
            }
            net.add(new ReLU());
            assertEquals(1, net.get(1).numThreads(), "a child added later takes the tree's count");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.numThreads(-2));
            assertEquals(
                    "the number of threads must be >= 1, or 0 to follow OneDnn.setNumThreads, got -2", e.getMessage());
        }
    }

    @Test
    void aModulesThreadCountIsWhatItsCallsRunWith() {
        int defaultThreads = dev.onednn4j.OneDnn.info().threads(); // the process setting, on this thread
        try (Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build();
                Tensor x = Tensor.zeros(1, 8, 8, 8);
                Tensor y = Tensor.zeros(1, 8, 8, 8)) {
            conv.numThreads(1);
            conv.forward(x, y);
            assertEquals(1, dev.onednn4j.natives.OpenMp.maxThreads(), "the calling thread runs one OpenMP thread");
            assertEquals(1, conv.planCount());
            conv.numThreads(0);
            conv.forward(x, y);
            assertEquals(defaultThreads, dev.onednn4j.natives.OpenMp.maxThreads(), "back to the process setting");
            assertEquals(2, conv.planCount(), "a plan per thread count");
        }
    }

    @Test
    void evalTrainAndBackendAreRecursive() {
        try (Net net = new Net()) {
            assertTrue(net.isTraining());
            net.eval();
            for (Module m : net.namedModules().values()) {
                assertFalse(m.isTraining(), m.getName());
            }
            net.train();
            for (Module m : net.namedModules().values()) {
                assertTrue(m.isTraining(), m.getName());
            }
            net.to(Backend.REFERENCE);
            for (Module m : net.namedModules().values()) {
                assertEquals(Backend.REFERENCE, m.backend(), m.getName());
            }
        }
    }

    @Test
    void closeClosesTheWholeTree() {
        Net net = new Net();
        List<Tensor> params = net.parameters();
        Block block = (Block) net.blocks.get(2);
        net.close();
        for (Tensor p : params) {
            assertTrue(p.isClosed());
        }
        assertTrue(block.isClosed() && block.conv2.isClosed());
        assertThrows(IllegalStateException.class, net::parameters);
        net.close();
    }

    @Test
    void reprIsPyTorchs() {
        try (Net net = new Net()) {
            assertEquals("""
                    Net(
                      (block1): Block(
                        (conv1): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                        (conv2): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                      )
                      (blocks): ModuleList(
                        (0-2): 3 x Block(
                          (conv1): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                          (conv2): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                        )
                      )
                    )""", net.toString());
        }
        try (Sequential s = new Sequential(
                Conv2d.builder(1, 2, 3).build(), Conv2d.builder(2, 2, 1).build())) {
            assertEquals("""
                    Sequential(
                      (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))
                      (1): Conv2d(2, 2, kernel_size=(1, 1), stride=(1, 1))
                    )""", s.toString());
        }
    }

    @Test
    void setSubmoduleReplacesInPlaceAndHandsBackTheOldOne() {
        try (Sequential s = new Sequential(
                        Conv2d.builder(1, 2, 3).seed(1).build(),
                        Conv2d.builder(2, 2, 1).build());
                Tensor x = Tensor.of(ramp(25), 1, 1, 5, 5)) {
            s.to(Backend.REFERENCE);
            Conv2d replacement = Conv2d.builder(2, 3, 1).seed(5).build();
            try (Module old = s.setSubmodule("1", replacement)) {
                assertTrue(old instanceof Conv2d && !old.isClosed());
            }
            assertSame(replacement, s.get(1));
            assertEquals(Backend.REFERENCE, replacement.backend(), "the new module follows the tree's backend");
            assertEquals(
                    List.of("0.weight", "0.bias", "1.weight", "1.bias"),
                    List.copyOf(s.stateDict().keySet()));
            try (Tensor y = s.forward(x)) {
                assertEquals(3, y.size(1), "forward runs the replacement");
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> s.setSubmodule("2", Conv2d.builder(1, 1, 1).build()));
        }
    }

    static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i % 17) / 17f - 0.5f;
        }
        return a;
    }

    @Test
    void sharedParameterAppearsOnce() {
        final class Tied extends Module {
            final Conv2d a = registerModule("a", Conv2d.builder(2, 2, 1).seed(1).build());

            {
                registerParameter("shared", a.weight());
            }

            @Override
            public Tensor forward(Tensor x) {
                return a.forward(x);
            }
        }
        try (Tied t = new Tied()) {
            assertEquals(
                    List.of("shared", "a.bias"), List.copyOf(t.namedParameters().keySet()));
        }
    }

    @Test
    void sequentialChainsAndNamesByIndex() {
        try (Sequential s = new Sequential(
                        Conv2d.builder(1, 2, 3).seed(1).build(),
                        Conv2d.builder(2, 3, 1).seed(2).build());
                Tensor x = Tensor.of(ramp(25), 1, 1, 5, 5)) {
            assertEquals(
                    List.of("0.weight", "0.bias", "1.weight", "1.bias"),
                    List.copyOf(s.namedParameters().keySet()));
            try (Tensor y = s.forward(x);
                    Tensor h = s.get(0).forward(x);
                    Tensor y2 = s.get(1).forward(h)) {
                assertArrayEquals(y2.toFloatArray(), y.toFloatArray());
                assertFalse(x.isClosed(), "the input stays the caller's");
            }
        }
    }

    @Test
    void badNamesAreRefused() {
        final class Bad extends Module {
            void register(String name) {
                registerModule(name, Conv2d.builder(1, 1, 1).build());
            }

            @Override
            public Tensor forward(Tensor x) {
                return x;
            }
        }
        try (Bad b = new Bad()) {
            assertThrows(IllegalArgumentException.class, () -> b.register("a.b"));
            assertThrows(IllegalArgumentException.class, () -> b.register(""));
            b.register("a");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.register("a"));
            assertEquals("attribute 'a' already exists in Bad", e.getMessage());
        }
    }
}
