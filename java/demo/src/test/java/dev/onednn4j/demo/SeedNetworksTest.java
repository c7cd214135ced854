package dev.onednn4j.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.onednn4j.demo.SeedNetworks.DeepNet;
import dev.onednn4j.demo.SeedNetworks.ResidualBlock;
import dev.onednn4j.demo.SeedNetworks.TwoBlockNet;
import dev.onednn4j.demo.SeedNetworks.TwoConvNet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The seed notebook's three networks: PyTorch's names and parameter counts (4, 8, 40), their tree and repr. The
 * behaviour of modules in general is tested in the library (ModuleTest).
 */
class SeedNetworksTest {

    @Test
    void seedNetworksHave4And8And40ParameterArraysWithPyTorchsNames() {
        try (TwoConvNet a = new TwoConvNet();
                TwoBlockNet b = new TwoBlockNet();
                DeepNet c = new DeepNet()) {
            assertEquals(
                    List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"),
                    List.copyOf(a.namedParameters().keySet()));
            assertEquals(4, a.parameters().size());
            assertEquals(
                    List.of(
                            "block1.conv1.weight",
                            "block1.conv1.bias",
                            "block1.conv2.weight",
                            "block1.conv2.bias",
                            "block2.conv1.weight",
                            "block2.conv1.bias",
                            "block2.conv2.weight",
                            "block2.conv2.bias"),
                    List.copyOf(b.namedParameters().keySet()));
            assertEquals(8, b.parameters().size());
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                for (String p : List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias")) {
                    expected.add("blocks." + i + "." + p);
                }
            }
            assertEquals(expected, List.copyOf(c.namedParameters().keySet()));
            assertEquals(40, c.parameters().size());
            assertSame(
                    ((ResidualBlock) c.blocks.get(3)).conv1.weight(),
                    c.namedParameters().get("blocks.3.conv1.weight"));
            assertEquals(expected, List.copyOf(c.stateDict().keySet()));
        }
    }

    @Test
    void namedModulesIsPreOrderWithTheRootAsEmptyName() {
        try (TwoBlockNet net = new TwoBlockNet()) {
            assertEquals(
                    List.of("", "block1", "block1.conv1", "block1.conv2", "block2", "block2.conv1", "block2.conv2"),
                    List.copyOf(net.namedModules().keySet()));
            assertEquals(List.of(net.block1, net.block2), net.children());
        }
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
    }
}
