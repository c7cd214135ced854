package dev.onednn4j.spark;

import dev.onednn4j.spark.RowDecoder.BadRowException;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.apache.spark.sql.Row;

/**
 * The inputs the job reads: encoded images (PNG, JPEG, BMP, GIF: what ImageIO reads), preprocessed as torchvision's
 * ImageNet models expect, and float arrays already preprocessed, in (C, H, W) order.
 */
public final class Decoders {
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    /**
     * The largest image decoded, in pixels (100 megapixels: 400 MB as the decoded RGB image): a larger one is a bad
     * row, not an {@code OutOfMemoryError} that would fail the task and, retried, the job.
     */
    public static final long MAX_PIXELS = 100_000_000L;

    private Decoders() {}

    /**
     * Rows of Spark's {@code binaryFile} source ({@code path, modificationTime, length, content}, or any rows whose
     * first column is the id and second the bytes).
     *
     * @param spec the model, for the input size
     * @return a decoder of (id, bytes) rows
     */
    public static RowDecoder<Row> binaryFileRows(ModelSpec spec) {
        return new RowDecoder<>() {
            private static final long serialVersionUID = 1L;

            @Override
            public String id(Row row) {
                return row.isNullAt(0) ? null : row.get(0).toString();
            }

            @Override
            public void decode(Row row, MemorySegment slot) throws BadRowException {
                if (row.isNullAt(1)) {
                    throw new BadRowException("no content (null)");
                }
                image((byte[]) row.get(1), spec.height(), spec.width(), slot);
            }
        };
    }

    /**
     * Image files, for the single-JVM loop.
     *
     * @param spec the model, for the input size
     * @return a decoder of paths
     */
    public static RowDecoder<Path> files(ModelSpec spec) {
        return new RowDecoder<>() {
            private static final long serialVersionUID = 1L;

            @Override
            public String id(Path file) {
                return Decoders.id(file);
            }

            @Override
            public void decode(Path file, MemorySegment slot) throws BadRowException {
                byte[] bytes;
                try {
                    bytes = Files.readAllBytes(file);
                } catch (IOException e) {
                    throw new BadRowException("cannot read " + file + ": " + e);
                }
                image(bytes, spec.height(), spec.width(), slot);
            }
        };
    }

    /**
     * A local file's id as Spark's {@code binaryFile} source writes its path: {@code file:/absolute/path}.
     *
     * @param file a local file
     * @return its id
     */
    public static String id(Path file) {
        return "file:" + file.toAbsolutePath().normalize();
    }

    /**
     * Rows of (id, float array) in (C, H, W) order, already preprocessed.
     *
     * @param spec the model, for the row length
     * @return a decoder of {@link FloatRow}s
     */
    public static RowDecoder<FloatRow> floatRows(ModelSpec spec) {
        return new RowDecoder<>() {
            private static final long serialVersionUID = 1L;

            @Override
            public String id(FloatRow row) {
                return row.getId();
            }

            @Override
            public void decode(FloatRow row, MemorySegment slot) throws BadRowException {
                if (row.getNullElements()) {
                    throw new BadRowException("features has null elements");
                }
                floats(row.getFeatures(), spec, slot);
            }
        };
    }

    /**
     * Copies one preprocessed row into its slot.
     *
     * @param features 3 x height x width floats, (C, H, W) order
     * @param spec     the model
     * @param slot     the row's place in the batch
     * @throws BadRowException if {@code features} is null or of another length
     */
    public static void floats(float[] features, ModelSpec spec, MemorySegment slot) throws BadRowException {
        if (features == null) {
            throw new BadRowException("features is null");
        }
        if (features.length != spec.rowLength()) {
            throw new BadRowException(String.format(
                    Locale.ROOT,
                    "features has %d floats, expected %d = 3 x %d x %d (C, H, W)",
                    features.length,
                    spec.rowLength(),
                    spec.height(),
                    spec.width()));
        }
        MemorySegment.copy(features, 0, slot, ValueLayout.JAVA_FLOAT, 0, features.length);
    }

    /**
     * Decodes an image and writes it as torchvision's ImageNet preprocessing would: the shorter side resized
     * (bilinear) to {@code max(height, width) * 256 / 224}, the center {@code height x width} cropped, scaled to [0,
     * 1], normalized with ImageNet's mean and standard deviation, (C, H, W) order.
     *
     * @param bytes  the encoded image
     * @param height the input height
     * @param width  the input width
     * @param slot   3 x height x width floats
     * @throws BadRowException if ImageIO cannot decode the bytes
     */
    public static void image(byte[] bytes, int height, int width, MemorySegment slot) throws BadRowException {
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new BadRowException("not an image ImageIO can read (" + bytes.length + " bytes, starting "
                        + HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(8, bytes.length)) + ")");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                // the size first: a small file may declare an image whose pixels would not fit in the heap
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new BadRowException(String.format(
                            Locale.ROOT,
                            "image of %d x %d pixels, more than the %d this job decodes",
                            reader.getWidth(0),
                            reader.getHeight(0),
                            MAX_PIXELS));
                }
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new BadRowException("corrupt image (" + bytes.length + " bytes): " + e.getMessage());
        }
        int resize = Math.round(Math.max(height, width) * 256f / 224f);
        double scale = (double) resize / Math.min(image.getWidth(), image.getHeight());
        int w = Math.max(width, (int) Math.round(image.getWidth() * scale));
        int h = Math.max(height, (int) Math.round(image.getHeight() * scale));
        BufferedImage crop = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = crop.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, -(w - width) / 2, -(h - height) / 2, w, h, null); // resized, then the center cropped
        g.dispose();
        int[] rgb = ((DataBufferInt) crop.getRaster().getDataBuffer()).getData();
        long plane = (long) height * width;
        for (int c = 0; c < 3; c++) {
            int shift = 16 - 8 * c;
            float scaleC = 1f / (255f * STD[c]);
            float shiftC = MEAN[c] / STD[c];
            for (int i = 0; i < rgb.length; i++) {
                float v = ((rgb[i] >> shift) & 0xff) * scaleC - shiftC;
                slot.setAtIndex(ValueLayout.JAVA_FLOAT, c * plane + i, v);
            }
        }
    }
}
