package dev.onednn4j.benchmarks.networks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the benchmarks take the exported files as they are, and when they run the script to write them. */
class NetworkExportsTest {

    @TempDir
    Path dir;

    private void write(String name, int bytes) throws IOException {
        Files.write(dir.resolve(name), new byte[bytes]);
    }

    /** A manifest as the script writes it (only the fields read here): version and per file its size. */
    private void manifest(String version, String model, int onnx, int torchScript, int io) throws IOException {
        Files.writeString(dir.resolve("manifest.json"), """
                {"version": "%s", "models": {"%s": {"settings": {"seed": 1}, "files": {
                  "%2$s.onnx": {"bytes": %d, "sha256": "x"},
                  "%2$s.torchscript.pt": {"bytes": %d, "sha256": "x"},
                  "%2$s-io.safetensors": {"bytes": %d, "sha256": "x"}}}}}
                """.formatted(version, model, onnx, torchScript, io));
    }

    @Test
    void currentFilesNeedNothing() throws IOException {
        manifest(NetworkExports.VERSION, "resnet18", 10, 20, 30);
        write("resnet18.onnx", 10);
        write("resnet18.torchscript.pt", 20);
        write("resnet18-io.safetensors", 30);
        NetworkExports e = new NetworkExports(dir);
        assertEquals(List.of(), e.problems("resnet18"));
        e.ensure("resnet18"); // runs nothing: no PyTorch is needed when the files are there
        assertEquals(dir.resolve("resnet18.onnx"), e.onnx("resnet18"));
    }

    @Test
    void anythingMissingOrStaleIsAProblem() throws IOException {
        NetworkExports e = new NetworkExports(dir);
        assertTrue(e.problems("resnet18").getFirst().startsWith("no "), "no manifest");

        Files.writeString(dir.resolve("manifest.json"), "{not json");
        assertTrue(
                e.problems("resnet18").getFirst().contains("unreadable"),
                e.problems("resnet18").toString());

        manifest("netbench-export-v0", "resnet18", 10, 20, 30);
        assertTrue(e.problems("resnet18").getFirst().contains("of version"), "an older layout");

        manifest(NetworkExports.VERSION, "resnet18", 10, 20, 30);
        assertTrue(e.problems("resnet50").getFirst().contains("lists no resnet50"), "another model");

        write("resnet18.onnx", 10);
        write("resnet18.torchscript.pt", 21); // cut short or rewritten since
        List<String> problems = e.problems("resnet18");
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("has 21 bytes, the manifest says 20"), problems.toString());
        assertTrue(problems.get(1).startsWith("no ") && problems.get(1).endsWith("resnet18-io.safetensors"));
    }

    @Test
    void missingFilesWithoutPyTorchSayWhatToInstall() {
        String before = System.getProperty("bench.python");
        System.setProperty("bench.python", dir.resolve("no-python3").toString());
        try {
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> new NetworkExports(dir).ensure("mobilenet_v2"));
            assertTrue(e.getMessage().contains("apt-get install python3-torch python3-torchvision"), e.getMessage());
            assertTrue(e.getMessage().contains("--export " + dir + " --model mobilenet_v2"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("bench.python");
            } else {
                System.setProperty("bench.python", before);
            }
        }
    }

    /** The script writes the layout this class reads: both name it by the same version. */
    @Test
    void theScriptExportsTheVersionThisClassReads() throws IOException {
        String script = Files.readString(NetworkExports.root().resolve("scripts/make-torch-fixtures"));
        Matcher m = Pattern.compile("EXPORT = \\{\\s*\"version\": \"([^\"]+)\"").matcher(script);
        assertTrue(m.find(), "EXPORT[\"version\"] in scripts/make-torch-fixtures");
        assertEquals(NetworkExports.VERSION, m.group(1));
    }
}
