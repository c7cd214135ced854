package dev.onednn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class DecodersTest {

    /** A valid 1x1 PNG whose header then declares {@code width x height} pixels (its CRC fixed). */
    static byte[] pngDeclaring(int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), "png", out);
        byte[] png = out.toByteArray();
        // signature (8), IHDR length (4), "IHDR" (4) at 12, width at 16, height at 20, ..., CRC at 29
        ByteBuffer b = ByteBuffer.wrap(png);
        b.putInt(16, width).putInt(20, height);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        b.putInt(29, (int) crc.getValue());
        return png;
    }

    @Test
    void anImageDeclaringMorePixelsThanTheLimitIsABadRowNotAnOutOfMemoryError() throws IOException {
        byte[] bomb = pngDeclaring(50_000, 50_000); // 2.5 gigapixels in 70 bytes
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slot = arena.allocate(3 * 8 * 8 * Float.BYTES);
            RowDecoder.BadRowException e =
                    assertThrows(RowDecoder.BadRowException.class, () -> Decoders.image(bomb, 8, 8, slot));
            assertEquals("image of 50000 x 50000 pixels, more than the 100000000 this job decodes", e.getMessage());
        }
    }

    @Test
    void anImageWithinTheLimitIsDecoded() throws Exception {
        byte[] png = pngDeclaring(1, 1); // the same bytes, declaring what they hold
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slot = arena.allocate(3 * 8 * 8 * Float.BYTES);
            Decoders.image(png, 8, 8, slot);
            float black = -0.485f / 0.229f; // channel 0 of a black pixel, normalized
            assertTrue(Math.abs(slot.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0) - black) < 1e-5);
        }
    }
}
