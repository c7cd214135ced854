package dev.onednn4j.spark;

import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Classifies a stream of rows in batches of the compiled model's batch size, lazily, as a Spark partition
 * iterator must: it reads rows until a batch is full (or the input ends, when the rest of the batch is zeros),
 * runs the model once, and hands out one {@link Prediction} per input row, in input order. A row that cannot be
 * decoded takes no place in a batch and comes out with its error: as many predictions come out as rows go in.
 *
 * <p>Memory: one input tensor and one output tensor per iterator, allocated once; each row is written straight
 * into its slot of the input tensor (one copy, no intermediate array) and the model runs with
 * {@link CompiledModule#forward(Tensor, Tensor)}, which allocates nothing. Spark-independent: the single-JVM loop
 * and the Spark job run this same code. Close it (or read it to the end) to free the tensors.
 *
 * @param <T> the input row type
 */
public final class BatchPredictor<T> implements Iterator<Prediction>, AutoCloseable {
    private final CompiledModule model;
    private final RowDecoder<T> decoder;
    private final Iterator<? extends T> input;
    private final int topK;
    private final int batch;
    private final int classes;
    private final long slotBytes;
    private final Tensor x;
    private final Tensor y;
    private final ArrayDeque<Prediction> ready = new ArrayDeque<>();
    private boolean closed;

    /**
     * A predictor over {@code input}.
     *
     * @param model   the compiled model: (batch, 3, H, W) contiguous float32 in, (batch, classes) out
     * @param decoder reads a row into the input
     * @param input   the rows
     * @param topK    how many classes each prediction lists (at most the number of classes)
     */
    public BatchPredictor(CompiledModule model, RowDecoder<T> decoder, Iterator<? extends T> input, int topK) {
        long[] in = model.inputShape();
        long[] out = model.outputShape();
        if (out.length != 2) {
            throw new IllegalArgumentException(
                    "a classifier's output is (batch, classes), got " + Arrays.toString(out));
        }
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be at least 1, got " + topK);
        }
        this.model = model;
        this.decoder = decoder;
        this.input = input;
        this.batch = Math.toIntExact(in[0]);
        this.classes = Math.toIntExact(out[1]);
        this.topK = Math.min(topK, classes);
        this.slotBytes = in[1] * in[2] * in[3] * Float.BYTES;
        this.x = Tensor.zeros(MemoryFormat.CONTIGUOUS, in);
        try {
            this.y = Tensor.zeros(out);
        } catch (RuntimeException | Error e) {
            x.close();
            throw e;
        }
    }

    @Override
    public boolean hasNext() {
        while (ready.isEmpty() && !closed && input.hasNext()) {
            runBatch();
        }
        if (ready.isEmpty()) {
            close();
            return false;
        }
        return true;
    }

    @Override
    public Prediction next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.poll();
    }

    /** Frees the tensors; later rows are not read. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            x.close();
            y.close();
        }
    }

    /** One pending output: the row's slot in the batch, or its error. */
    private record Pending(String id, int slot, String error, long start, long end) {}

    private void runBatch() {
        List<Pending> pending = new ArrayList<>(batch);
        MemorySegment in = x.segment();
        int used = 0;
        while (used < batch && input.hasNext()) {
            T row = input.next();
            long start = System.nanoTime();
            String id = null;
            try {
                id = decoder.id(row);
                decoder.decode(row, in.asSlice(used * slotBytes, slotBytes));
                pending.add(new Pending(id, used++, null, start, 0));
            } catch (RowDecoder.BadRowException e) {
                pending.add(new Pending(id, -1, e.getMessage(), start, System.nanoTime()));
            } catch (RuntimeException e) { // a decoder's failure on odd data (ImageIO throws several kinds)
                pending.add(new Pending(id, -1, e.toString(), start, System.nanoTime()));
            }
        }
        if (used > 0) {
            if (used < batch) { // a partial batch: rows of a CNN batch are independent, the padding is ignored
                in.asSlice(used * slotBytes).fill((byte) 0);
            }
            model.forward(x, y);
        }
        long end = System.nanoTime();
        MemorySegment logits = y.readOnlySegment();
        for (Pending p : pending) {
            if (p.error() != null) {
                ready.add(new Prediction(p.id(), null, null, p.error(), (p.end() - p.start()) / 1e6));
            } else {
                ready.add(topK(p.id(), logits, (long) p.slot() * classes, (end - p.start()) / 1e6));
            }
        }
    }

    private Prediction topK(String id, MemorySegment logits, long offset, double latencyMs) {
        float[] row = new float[classes];
        MemorySegment.copy(logits, ValueLayout.JAVA_FLOAT, offset * Float.BYTES, row, 0, classes);
        float[] p = softmax(row);
        Integer[] order = new Integer[classes];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Float.compare(p[b], p[a]) : Integer.compare(a, b));
        List<Integer> top = new ArrayList<>(topK);
        List<Float> scores = new ArrayList<>(topK);
        for (int i = 0; i < topK; i++) {
            top.add(order[i]);
            scores.add(p[order[i]]);
        }
        return new Prediction(id, List.copyOf(top), List.copyOf(scores), null, latencyMs);
    }

    /**
     * Softmax, in double with {@link StrictMath#exp} (the same bits on every JVM), rounded to float32.
     *
     * @param logits one row of the model's output
     * @return the probabilities
     */
    public static float[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < e.length; i++) {
            e[i] = StrictMath.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }
}
