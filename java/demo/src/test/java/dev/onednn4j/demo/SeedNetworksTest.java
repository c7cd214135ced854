package dev.onednn4j.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.demo.SeedNetworks.DeepNet;
import dev.onednn4j.demo.SeedNetworks.ResidualBlock;
import dev.onednn4j.demo.SeedNetworks.TwoBlockNet;
import dev.onednn4j.demo.SeedNetworks.TwoConvNet;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The module tree through the seed notebook's three networks: PyTorch's names, state dicts, modes, repr, close. */
class SeedNetworksTest {

    @Test
    void seedNetworksHave4And8And40ParameterArraysWithPyTorchsNames() {
        try (TwoConvNet a = new TwoConvNet(); TwoBlockNet b = new TwoBlockNet(); DeepNet c = new DeepNet()) {
            assertEquals(List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"),
                    List.copyOf(a.namedParameters().keySet()));
            assertEquals(4, a.parameters().size());
            assertEquals(List.of("block1.conv1.weight", "block1.conv1.bias", "block1.conv2.weight",
                    "block1.conv2.bias", "block2.conv1.weight", "block2.conv1.bias", "block2.conv2.weight",
                    "block2.conv2.bias"), List.copyOf(b.namedParameters().keySet()));
            assertEquals(8, b.parameters().size());
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                for (String p : List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias")) {
                    expected.add("blocks." + i + "." + p);
                }
            }
            assertEquals(expected, List.copyOf(c.namedParameters().keySet()));
            assertEquals(40, c.parameters().size());
            assertSame(((ResidualBlock) c.blocks.get(3)).conv1.weight(), c.namedParameters().get("blocks.3.conv1.weight"));
            assertEquals(expected, List.copyOf(c.stateDict().keySet()));
        }
    }

    @Test
    void namedModulesIsPreOrderWithTheRootAsEmptyName() {
        try (TwoBlockNet net = new TwoBlockNet()) {
            assertEquals(List.of("", "block1", "block1.conv1", "block1.conv2", "block2", "block2.conv1",
                    "block2.conv2"), List.copyOf(net.namedModules().keySet()));
            assertEquals(List.of(net.block1, net.block2), net.children());
        }
    }

    @Test
    void stateDictRoundTripsBetweenModels() {
        try (TwoBlockNet a = new TwoBlockNet(); TwoBlockNet b = new TwoBlockNet();
             Tensor x = Tensor.of(ramp(2 * 16 * 6 * 6), 2, 16, 6, 6)) {
            for (Tensor p : b.parameters()) {
                p.copyFrom(new float[Math.toIntExact(p.numel())]);
            }
            Module.LoadResult r = b.loadStateDict(a.stateDict(), true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            try (Tensor ya = a.forward(x); Tensor yb = b.forward(x)) {
                assertArrayEquals(ya.toFloatArray(), yb.toFloatArray());
            }
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
    void loadStateDictReportsEveryProblemTogetherAndCopiesNothing() {
        try (TwoConvNet net = new TwoConvNet(); Tensor wrong = Tensor.zeros(8, 2, 3, 3);
             Tensor extra = Tensor.zeros(3); Tensor bias = Tensor.zeros(8)) {
            float[] before = net.conv1.bias().toFloatArray();
            Map<String, Tensor> dict = new HashMap<>();
            dict.put("conv1.weight", wrong);
            dict.put("conv1.bias", bias);
            dict.put("fc.weight", extra);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> net.loadStateDict(dict, true));
            assertEquals("Error(s) in loading state_dict for TwoConvNet:\n"
                    + "\tMissing key(s) in state_dict: \"conv2.weight\", \"conv2.bias\". \n"
                    + "\tUnexpected key(s) in state_dict: \"fc.weight\". \n"
                    + "\tsize mismatch for conv1.weight: copying a param with shape [8, 2, 3, 3] from checkpoint, "
                    + "the shape in current model is [8, 1, 3, 3].", e.getMessage());
            assertArrayEquals(before, net.conv1.bias().toFloatArray(), "nothing copied");

            // not strict: a shape mismatch is still an error, missing and unexpected keys are returned
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> net.loadStateDict(dict, false));
            assertTrue(e2.getMessage().contains("size mismatch for conv1.weight"), e2.getMessage());
            dict.remove("conv1.weight");
            Module.LoadResult r = net.loadStateDict(dict, false);
            assertEquals(List.of("conv1.weight", "conv2.weight", "conv2.bias"), r.missingKeys());
            assertEquals(List.of("fc.weight"), r.unexpectedKeys());
            assertArrayEquals(new float[8], net.conv1.bias().toFloatArray(), "the matching key was loaded");
        }
    }

    @Test
    void evalAndTrainAreRecursive() {
        try (DeepNet net = new DeepNet()) {
            assertTrue(net.isTraining());
            net.eval();
            for (Module m : net.namedModules().values()) {
                assertFalse(m.isTraining(), m.getName());
            }
            net.train();
            for (Module m : net.namedModules().values()) {
                assertTrue(m.isTraining(), m.getName());
            }
        }
    }

    @Test
    void backendSwitchIsRecursive() {
        try (DeepNet net = new DeepNet()) {
            net.to(Backend.REFERENCE);
            for (Module m : net.namedModules().values()) {
                assertEquals(Backend.REFERENCE, m.backend(), m.getName());
            }
        }
    }

    @Test
    void closeClosesTheWholeTree() {
        DeepNet net = new DeepNet();
        List<Tensor> params = net.parameters();
        ResidualBlock block = (ResidualBlock) net.blocks.get(9);
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
        try (TwoBlockNet net = new TwoBlockNet()) {
            assertEquals("""
                    TwoBlockNet(
                      (block1): ResidualBlock(
                        (conv1): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                        (conv2): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                      )
                      (block2): ResidualBlock(
                        (conv1): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                        (conv2): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                      )
                    )""", net.toString());
        }
        try (DeepNet net = new DeepNet()) {
            assertEquals("""
                    DeepNet(
                      (blocks): ModuleList(
                        (0-9): 10 x ResidualBlock(
                          (conv1): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                          (conv2): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                        )
                      )
                    )""", net.toString());
        }
        try (Sequential s = new Sequential(Conv2d.builder(1, 2, 3).build(), Conv2d.builder(2, 2, 1).build())) {
            assertEquals("""
                    Sequential(
                      (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))
                      (1): Conv2d(2, 2, kernel_size=(1, 1), stride=(1, 1))
                    )""", s.toString());
        }
    }
}
