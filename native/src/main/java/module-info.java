/**
 * Loads oneDNN: finds libdnnl (bundled in {@code org.bytedeco:dnnl} for Linux x86-64 and arm64, macOS x86-64 and
 * arm64, Windows x64, or named by an override), extracts, verifies and maps it, and sets the thread count of its
 * OpenMP runtime ({@link dev.onednn4j.natives.OpenMp}).
 *
 * <p>On the module path the payload jar's module ({@code org.bytedeco.dnnl.linux.x86_64} and so on) is required by
 * no module, so that it stays platform-neutral: the loader reads the jar in place from the module path, unresolved
 * (or, when {@code --add-modules} resolved it, as a resource). Its files are in folders that are not packages, which
 * no module encapsulates. Native access is restricted: grant it with
 * {@code --enable-native-access=dev.onednn4j.natives}.
 */
// The qualified exports name the modules built after this one: javac warns that it cannot see them here.
@SuppressWarnings("module")
module dev.onednn4j.natives {
    exports dev.onednn4j.natives to
            dev.onednn4j.bindings,
            dev.onednn4j;
}
