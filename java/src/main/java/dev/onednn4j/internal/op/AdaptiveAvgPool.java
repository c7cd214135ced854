package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Adaptive average pooling of (N, C, H, W) to (N, C, OH, OW) with PyTorch's windows: output row {@code i} averages
 * input rows {@code floor(i * H / OH)} to {@code ceil((i + 1) * H / OH)} (exclusive), and likewise for columns.
 * Tensors: input, output.
 *
 * <p>Where OH divides H and OW divides W the windows are a plain pooling ({@link #pooling}: kernel and stride
 * H/OH). Otherwise they overlap and vary in size, which no pooling primitive expresses; it is then a oneDNN
 * matmul: (N, C, H*W) x P (1, H*W, OH*OW) where {@code P[h*W + w][o] = 1 / |window o|} inside window {@code o}, a
 * constant. The input's layout is read through strides (NCHW or NHWC), the output reordered if needed.
 */
public final class AdaptiveAvgPool implements Operation {
    private final int n;
    private final int c;
    private final int h;
    private final int w;
    private final int outH;
    private final int outW;
    private final boolean unbatched;

    /** @param unbatched the caller's tensors are (C, H, W): the output shape drops the batch of one */
    public AdaptiveAvgPool(long[] nchw, int outH, int outW, boolean unbatched) {
        this.unbatched = unbatched;
        this.n = Math.toIntExact(nchw[0]);
        this.c = Math.toIntExact(nchw[1]);
        this.h = Math.toIntExact(nchw[2]);
        this.w = Math.toIntExact(nchw[3]);
        this.outH = outH;
        this.outW = outW;
    }

    /** The equivalent plain average pooling when the windows tile the input exactly, else null. */
    public Pooling pooling() {
        if (h % outH != 0 || w % outW != 0) {
            return null;
        }
        int kH = h / outH;
        int kW = w / outW;
        PoolParams p = new PoolParams(false, kH, kW, kH, kW, 0, 0, 1, 1, false, true, 0);
        return new Pooling(p.resolve(n, c, h, w, new long[] {n, c, h, w}), unbatched);
    }

    static int start(int o, int in, int out) {
        return (int) ((long) o * in / out);
    }

    static int end(int o, int in, int out) {
        return (int) (((long) (o + 1) * in + out - 1) / out);
    }

    @Override
    public long[] outputShape() {
        return unbatched ? new long[] {c, outH, outW} : new long[] {n, c, outH, outW};
    }

    @Override
    public Plan plan(TensorImpl... t) {
        int hw = h * w;
        int ohw = outH * outW;
        Plan.Builder b = Plan.builder(String.format(
                Locale.ROOT,
                "adaptive_avg_pool2d [%d, %d, %d, %d] -> [%d, %d, " + "%d, %d] as a matmul, input %s, output %s",
                n,
                c,
                h,
                w,
                n,
                c,
                outH,
                outW,
                t[0].format(),
                t[1].format()));
        MemoryDesc src = b.input(Arg.SRC, 0, Layouts.of(new long[] {n, c, hw}, strides(t[0].format(), hw)));
        b.output(Arg.DST, 1, Layouts.of(new long[] {n, c, ohw}, strides(t[1].format(), ohw)));
        Constant k = constants().getFirst();
        TensorImpl weights = b.owned(TensorImpl.of(k.values(), k.dims()));
        MemoryDesc wMd = b.constant(Arg.WEIGHTS, weights, Layouts.of(k.dims(), Format.CONTIGUOUS));
        MemoryDesc dst = b.temporary(Layouts.any(new long[] {n, c, ohw}));
        return b.build(attr -> PrimitiveDesc.matmul(Engine.cpu(), src, wMd, null, dst, attr));
    }

    /**
     * A matmul over {@code src} seen as (N, C, H*W), which must be possible without a copy (else null: the caller
     * reorders first), into (N, C, outH*outW) in a layout oneDNN picks; weights in {@code dt}.
     */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        long[] in3 = {n, c, (long) h * w};
        try (MemoryDesc s3 = src.reshape(in3)) {
            if (s3 == null || (!s3.layout().equals("abc") && !s3.layout().equals("acb"))) {
                return null;
            }
            long ohw = (long) outH * outW;
            try (MemoryDesc wMd = MemoryDesc.strided(
                            new long[] {1, (long) h * w, ohw}, dt, new long[] {(long) h * w * ohw, ohw, 1});
                    MemoryDesc d = MemoryDesc.any(new long[] {n, c, ohw}, dt)) {
                return PrimitiveDesc.matmul(Engine.cpu(), s3, wMd, null, d, attr);
            }
        }
    }

    /** The averaging matrix (1, H*W, outH*outW): row {@code ih*W + iw} spreads over the windows holding it. */
    @Override
    public List<Constant> constants() {
        int hw = h * w;
        int ohw = outH * outW;
        float[] p = new float[hw * ohw];
        for (int oh = 0; oh < outH; oh++) {
            for (int ow = 0; ow < outW; ow++) {
                int h0 = start(oh, h, outH), h1 = end(oh, h, outH);
                int w0 = start(ow, w, outW), w1 = end(ow, w, outW);
                float share = (float) (1.0 / ((h1 - h0) * (w1 - w0)));
                for (int ih = h0; ih < h1; ih++) {
                    for (int iw = w0; iw < w1; iw++) {
                        p[(ih * w + iw) * ohw + oh * outW + ow] = share;
                    }
                }
            }
        }
        return List.of(new Constant(Arg.WEIGHTS, new long[] {1, hw, ohw}, null, p));
    }

    /** Strides of (N, C, pixels) for a tensor in {@code f}. */
    private long[] strides(Format f, long pixels) {
        return f == Format.CHANNELS_LAST ? new long[] {pixels * c, 1, c} : new long[] {c * pixels, pixels, 1};
    }

    @Override
    public double[] exact(float[] x) {
        return compute(x, null);
    }

    /**
     * PyTorch's adaptive average pooling written plainly, in double.
     *
     * @param magnitude if not null, receives {@code sum|x| / |window|} per output
     */
    public double[] compute(float[] x, double[] magnitude) {
        double[] y = new double[n * c * outH * outW];
        boolean tiles = pooling() != null;
        int o = 0;
        // [N, C, H, W] -> [N, C, OH, OW]
        for (int in = 0; in < n; in++) {
            for (int ic = 0; ic < c; ic++) {
                int plane = (in * c + ic) * h;
                for (int oh = 0; oh < outH; oh++) {
                    for (int ow = 0; ow < outW; ow++) {
                        int h0 = start(oh, h, outH), h1 = end(oh, h, outH);
                        int w0 = start(ow, w, outW), w1 = end(ow, w, outW);
                        double sum = 0;
                        double abs = 0;
                        for (int ih = h0; ih < h1; ih++) {
                            for (int iw = w0; iw < w1; iw++) {
                                sum += x[(plane + ih) * w + iw];
                                abs += Math.abs(x[(plane + ih) * w + iw]);
                            }
                        }
                        int count = (h1 - h0) * (w1 - w0);
                        if (magnitude != null) {
                            magnitude[o] = abs / count;
                        }
                        // computed as a matmul with the averaging matrix, a NaN or infinity anywhere in the
                        // plane meets a zero weight (0 * inf = NaN): the library's semantics, docs/non-finite-values.md
                        boolean outside = false;
                        for (int ih = 0; ih < h && !outside && !tiles; ih++) {
                            for (int iw = 0; iw < w; iw++) {
                                boolean inside = ih >= h0 && ih < h1 && iw >= w0 && iw < w1;
                                if (!inside && !Float.isFinite(x[(plane + ih) * w + iw])) {
                                    outside = true;
                                    break;
                                }
                            }
                        }
                        y[o++] = outside ? Double.NaN : sum / count;
                    }
                }
            }
        }
        return y;
    }

    /**
     * Per element, how far oneDNN's float result may be from {@link #compute}: a sum of H*W products (those outside
     * the window are exact zeros) by a rounded {@code 1 / |window|}: {@code gamma(H*W + 2) * sum|x| / |window|}.
     */
    @Override
    public double[] bound(float[] x) {
        double[] magnitude = new double[n * c * outH * outW];
        compute(x, magnitude);
        double gamma = RoundingBound.gamma((long) h * w + 2);
        for (int i = 0; i < magnitude.length; i++) {
            magnitude[i] *= gamma;
        }
        return magnitude;
    }

    @Override
    public String toString() {
        return "adaptive_avg_pool2d " + Arrays.toString(new long[] {n, c, h, w}) + " -> " + outH + "x" + outW;
    }
}
