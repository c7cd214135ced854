package dev.onednn4j.onnx;

import dev.onednn4j.internal.op.DeconvOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.ResampleOp;
import dev.onednn4j.nn.AdaptiveAvgPool2d;
import dev.onednn4j.nn.AvgPool2d;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.MaxPool2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.onnx.Resolution.Val;
import java.util.Arrays;

/**
 * The ONNX convolutions, batch normalisation, poolings and Resize, on the library's layers and operations.
 */
final class ConvOps {
    private ConvOps() {}

    /** The 2-D window attributes of a node on an input of {@code s} (N, C, H, W), with PyTorch-symmetric pads. */
    record Window(int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {}

    static Window window(Ctx c, long[] s, long[] kernel) {
        if (s.length != 4) {
            throw c.error("onednn4j supports 2-D spatial inputs (N, C, H, W) here; got shape %s", Arrays.toString(s));
        }
        long[] k = c.ints("kernel_shape", kernel);
        if (k == null || k.length != 2) {
            throw c.error("kernel_shape must have 2 entries, got %s", Arrays.toString(k));
        }
        long[] st = c.ints("strides", new long[] {1, 1});
        long[] dil = c.ints("dilations", new long[] {1, 1});
        long[] pads = c.ints("pads", new long[] {0, 0, 0, 0});
        String auto = c.s("auto_pad", "NOTSET");
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            pads = new long[4];
            for (int d = 0; d < 2; d++) {
                long in = s[2 + d];
                long out = (in + st[d] - 1) / st[d];
                long total = Math.max(0, (out - 1) * st[d] + (k[d] - 1) * dil[d] + 1 - in);
                long small = total / 2;
                pads[d] = auto.equals("SAME_UPPER") ? small : total - small;
                pads[d + 2] = total - pads[d];
            }
        } else if (auto.equals("VALID")) {
            pads = new long[4];
        } else if (!auto.equals("NOTSET")) {
            throw c.error("auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto);
        }
        if (pads.length != 4 || st.length != 2 || dil.length != 2) {
            throw c.error(
                    "pads %s, strides %s and dilations %s must be for 2 spatial axes",
                    Arrays.toString(pads), Arrays.toString(st), Arrays.toString(dil));
        }
        if (pads[0] != pads[2] || pads[1] != pads[3]) {
            throw c.error(
                    "asymmetric pads %s (begin and end differ) are not supported yet; PyTorch exports symmetric ones",
                    Arrays.toString(pads));
        }
        for (long v : new long[] {k[0], k[1], st[0], st[1], dil[0], dil[1], pads[0], pads[1]}) {
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw c.error(
                        "kernel %s, strides %s, dilations %s and pads %s must be non-negative ints",
                        Arrays.toString(k), Arrays.toString(st), Arrays.toString(dil), Arrays.toString(pads));
            }
        }
        return new Window(
                (int) k[0], (int) k[1], (int) st[0], (int) st[1], (int) pads[0], (int) pads[1], (int) dil[0], (int)
                        dil[1]);
    }

    static int toInt(Ctx c, long v, String what) {
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw c.error("%s %d is out of range", what, v);
        }
        return (int) v;
    }

    static void conv(Ctx c) {
        long[] x = c.shape(0);
        long[] w = c.shape(1);
        if (w.length != 4) {
            throw c.error("onednn4j supports 2-D convolutions (a 4-D weight); got weight shape %s", Arrays.toString(w));
        }
        Window win = window(c, x, new long[] {w[2], w[3]});
        int groups = toInt(c, c.i("group", 1), "group");
        int in = toInt(c, x[1], "input channels");
        int out = toInt(c, w[0], "output channels");
        if (groups == 0 || w[1] * groups != x[1]) {
            throw c.error(
                    "Given groups=%d, weight of size %s, expected input%s to have %d channels, but got %d "
                            + "channels instead",
                    groups, Arrays.toString(w), Arrays.toString(x), w[1] * groups, x[1]);
        }
        double[] weight = c.constant(1, "weight");
        double[] bias = c.in(2) == null ? null : c.constant(2, "bias");
        Conv2d conv = Conv2d.builder(in, out, win.kh(), win.kw())
                .stride(win.sh(), win.sw())
                .padding(win.ph(), win.pw())
                .dilation(win.dh(), win.dw())
                .groups(groups)
                .bias(bias != null)
                .build();
        try {
            conv.weight().copyFrom(Nd.floats(weight));
            if (bias != null) {
                conv.bias().copyFrom(Nd.floats(bias));
            }
        } catch (RuntimeException | Error e) {
            conv.close();
            throw e;
        }
        long oh = (x[2] + 2L * win.ph() - (long) win.dh() * (win.kh() - 1) - 1) / win.sh() + 1;
        long ow = (x[3] + 2L * win.pw() - (long) win.dw() * (win.kw() - 1) - 1) / win.sw() + 1;
        if (oh <= 0 || ow <= 0) {
            conv.close();
            throw c.error(
                    "Calculated output size: (%d x %d). Output size is too small (input %s)",
                    oh, ow, Arrays.toString(x));
        }
        c.layer(conv, new long[] {x[0], out, oh, ow});
    }

    static void convTranspose(Ctx c) {
        long[] x = c.shape(0);
        long[] w = c.shape(1);
        if (w.length != 4 || x.length != 4) {
            throw c.error(
                    "onednn4j supports 2-D transposed convolutions; got input %s, weight %s",
                    Arrays.toString(x), Arrays.toString(w));
        }
        long[] k = c.ints("kernel_shape", new long[] {w[2], w[3]});
        long[] st = c.ints("strides", new long[] {1, 1});
        long[] dil = c.ints("dilations", new long[] {1, 1});
        long[] pads = c.ints("pads", new long[] {0, 0, 0, 0});
        long[] outPad = c.ints("output_padding", new long[] {0, 0});
        int g = (int) c.i("group", 1);
        if (c.ints("output_shape", null) != null || !c.s("auto_pad", "NOTSET").equals("NOTSET")) {
            throw c.error("output_shape and auto_pad are not supported; give pads and output_padding");
        }
        if (g <= 0 || x[1] != w[0] || w[0] % g != 0) {
            throw c.error("input channels %d must equal the weight's first dimension %d (groups %d)", x[1], w[0], g);
        }
        int n = (int) x[0];
        int h = (int) x[2];
        int wd = (int) x[3];
        int cog = (int) w[1];
        int co = cog * g;
        int kh = (int) k[0];
        int kw = (int) k[1];
        long oh = (h - 1) * st[0] - pads[0] - pads[2] + dil[0] * (kh - 1) + outPad[0] + 1;
        long ow = (wd - 1) * st[1] - pads[1] - pads[3] + dil[1] * (kw - 1) + outPad[1] + 1;
        if (oh <= 0 || ow <= 0) {
            throw c.error("output size %dx%d is too small", oh, ow);
        }
        long[] out = {n, co, oh, ow};
        if (!c.need(0).isConst()
                && outPad[0] == 0
                && outPad[1] == 0
                && c.need(1).isConst()
                && (c.in(2) == null || c.need(2).isConst())) {
            float[] wv = Nd.floats(c.constant(1, "weight"));
            float[] bv = c.in(2) == null ? null : Nd.floats(c.constant(2, "bias"));
            c.graph(
                    new DeconvOp(
                            x,
                            wv,
                            cog,
                            kh,
                            kw,
                            g,
                            bv,
                            st,
                            dil,
                            new long[] {pads[0], pads[1]},
                            new long[] {pads[2], pads[3]},
                            new long[] {0, 0}),
                    0);
            return;
        }
        DeconvOp op = new DeconvOp(
                x,
                Nd.floats(c.constant(1, "weight")),
                cog,
                kh,
                kw,
                g,
                c.in(2) == null ? null : Nd.floats(c.constant(2, "bias")),
                st,
                dil,
                new long[] {pads[0], pads[1]},
                new long[] {pads[2], pads[3]},
                outPad);
        c.java(out, in -> new double[][] {op.exact(in)}); // output padding: oneDNN's deconvolution has none
    }

    static void batchNorm(Ctx c) {
        long[] x = c.shape(0);
        if (x.length != 4) {
            throw c.error(
                    "onednn4j supports BatchNormalization on 4-D (N, C, H, W) inputs; got %s", Arrays.toString(x));
        }
        if (c.i("training_mode", 0) == 1) {
            throw c.error("training_mode=1 is not supported: onednn4j runs inference");
        }
        int ch = toInt(c, x[1], "channels");
        BatchNorm2d bn = BatchNorm2d.builder(ch).eps(c.f("epsilon", 1e-5f)).build();
        try {
            bn.weight().copyFrom(Nd.floats(c.constant(1, "scale")));
            bn.bias().copyFrom(Nd.floats(c.constant(2, "B")));
            bn.runningMean().copyFrom(Nd.floats(c.constant(3, "mean")));
            bn.runningVar().copyFrom(Nd.floats(c.constant(4, "var")));
        } catch (RuntimeException | Error e) {
            bn.close();
            throw e;
        }
        c.layer(bn, x);
    }

    static void pool(Ctx c, boolean max) {
        long[] x = c.shape(0);
        Window w = window(c, x, null);
        boolean ceil = c.i("ceil_mode", 0) == 1;
        if (max && c.i("storage_order", 0) != 0) {
            throw c.error("storage_order=1 is not supported");
        }
        if (max && c.node.outputs().size() > 1 && !c.node.outputs().get(1).isEmpty()) {
            throw c.error("MaxPool's Indices output is not supported");
        }
        Module m;
        if (max) {
            m = MaxPool2d.builder(w.kh(), w.kw())
                    .stride(w.sh(), w.sw())
                    .padding(w.ph(), w.pw())
                    .dilation(w.dh(), w.dw())
                    .ceilMode(ceil)
                    .build();
        } else {
            if (w.dh() != 1 || w.dw() != 1) {
                throw c.error("AveragePool with dilations %dx%d is not supported", w.dh(), w.dw());
            }
            m = AvgPool2d.builder(w.kh(), w.kw())
                    .stride(w.sh(), w.sw())
                    .padding(w.ph(), w.pw())
                    .ceilMode(ceil)
                    .countIncludePad(c.i("count_include_pad", 0) == 1)
                    .build();
        }
        long[] out = {
            x[0],
            x[1],
            poolSize(x[2], w.kh(), w.sh(), w.ph(), w.dh(), ceil),
            poolSize(x[3], w.kw(), w.sw(), w.pw(), w.dw(), ceil)
        };
        c.layer(m, out);
    }

    static long poolSize(long in, int k, int s, int p, int d, boolean ceil) {
        long span = in + 2L * p - (long) d * (k - 1) - 1;
        long out = (ceil ? Math.ceilDiv(span, s) : Math.floorDiv(span, s)) + 1;
        if (ceil && (out - 1) * s >= in + p) {
            out--;
        }
        return out;
    }

    static void globalPool(Ctx c, boolean max) {
        long[] x = c.shape(0);
        if (x.length != 4) {
            throw c.error("onednn4j supports global pooling of 4-D (N, C, H, W) inputs; got %s", Arrays.toString(x));
        }
        long[] out = {x[0], x[1], 1, 1};
        Module m = max
                ? MaxPool2d.builder(toInt(c, x[2], "height"), toInt(c, x[3], "width"))
                        .build()
                : new AdaptiveAvgPool2d(1, 1);
        c.layer(m, out);
    }

    static void resize(Ctx c) {
        long[] x = c.shape(0);
        String mode = c.s("mode", "nearest");
        String ctm = c.s("coordinate_transformation_mode", "half_pixel");
        String nearest = c.s("nearest_mode", "round_prefer_floor");
        if (c.attr("axes") != null || c.i("antialias", 0) != 0) {
            throw c.error("Resize's axes and antialias attributes are not supported");
        }
        if (!mode.equals("nearest") && !mode.equals("linear")) {
            throw c.error("Resize mode '%s' is not supported (nearest, linear)", mode);
        }
        int r = x.length;
        double[] scales = new double[r];
        long[] out = new long[r];
        Val sizes = c.in(3);
        Val sc = c.in(2);
        if (sizes != null && Nd.numel(sizes.shape()) > 0) {
            long[] sz = Nd.longs(c.constant(3, "sizes"));
            if (sz.length != r) {
                throw c.error(
                        "sizes %s must have one entry per dimension of %s", Arrays.toString(sz), Arrays.toString(x));
            }
            for (int d = 0; d < r; d++) {
                out[d] = sz[d];
                scales[d] = (double) sz[d] / x[d];
            }
        } else if (sc != null && Nd.numel(sc.shape()) > 0) {
            double[] s = c.constant(2, "scales");
            if (s.length != r) {
                throw c.error(
                        "scales %s must have one entry per dimension of %s", Arrays.toString(s), Arrays.toString(x));
            }
            for (int d = 0; d < r; d++) {
                scales[d] = (float) s[d];
                out[d] = (long) Math.floor(x[d] * scales[d]);
            }
        } else {
            throw c.error("Resize needs scales or sizes");
        }
        ShapeOps.checkShape(c, out);
        for (int d = 0; d < r - 2; d++) {
            if (out[d] != x[d]) {
                throw c.error(
                        "only the last two dimensions may be resized; %s -> %s",
                        Arrays.toString(x), Arrays.toString(out));
            }
        }
        boolean halfPixel =
                ctm.equals("half_pixel") || (ctm.equals("pytorch_half_pixel") && out[r - 2] > 1 && out[r - 1] > 1);
        boolean exactScale =
                (double) out[r - 2] / x[r - 2] == scales[r - 2] && (double) out[r - 1] / x[r - 1] == scales[r - 1];
        if (!c.need(0).isConst() && mode.equals("linear") && r == 4 && halfPixel && exactScale && Nd.numel(out) > 0) {
            c.graph(new ResampleOp(x, out), 0);
            return;
        }
        long[] o = out;
        c.java(out, in -> {
            int planes = Nd.numel(Arrays.copyOf(x, r - 2));
            int ih = (int) x[r - 2];
            int iw = (int) x[r - 1];
            int oh = (int) o[r - 2];
            int ow = (int) o[r - 1];
            double[] res = new double[planes * oh * ow];
            // [planes, IH, IW] -> [planes, OH, OW]
            for (int p = 0; p < planes; p++) {
                for (int y = 0; y < oh; y++) {
                    double sy = source(y, scales[r - 2], ih, oh, ctm);
                    for (int xx = 0; xx < ow; xx++) {
                        double sx = source(xx, scales[r - 1], iw, ow, ctm);
                        double v;
                        if (mode.equals("nearest")) {
                            int yi = nearestIndex(sy, ih, nearest);
                            int xi = nearestIndex(sx, iw, nearest);
                            v = in[0][(p * ih + yi) * iw + xi];
                        } else {
                            sy = Math.clamp(sy, 0, ih - 1);
                            sx = Math.clamp(sx, 0, iw - 1);
                            int y0 = (int) Math.floor(sy);
                            int x0 = (int) Math.floor(sx);
                            int y1 = Math.min(y0 + 1, ih - 1);
                            int x1 = Math.min(x0 + 1, iw - 1);
                            double fy = sy - y0;
                            double fx = sx - x0;
                            int base = p * ih * iw;
                            v = (1 - fy) * ((1 - fx) * in[0][base + y0 * iw + x0] + fx * in[0][base + y0 * iw + x1])
                                    + fy * ((1 - fx) * in[0][base + y1 * iw + x0] + fx * in[0][base + y1 * iw + x1]);
                        }
                        res[(p * oh + y) * ow + xx] = v;
                    }
                }
            }
            return new double[][] {res};
        });
    }

    static double source(int o, double scale, int in, int out, String ctm) {
        return switch (ctm) {
            case "align_corners" -> out == 1 ? 0 : o * (double) (in - 1) / (out - 1);
            case "asymmetric" -> o / scale;
            case "pytorch_half_pixel" -> out > 1 ? (o + 0.5) / scale - 0.5 : 0;
            default -> (o + 0.5) / scale - 0.5; // half_pixel
        };
    }

    static int nearestIndex(double s, int in, String mode) {
        double v = switch (mode) {
            case "floor" -> Math.floor(s);
            case "ceil" -> Math.ceil(s);
            case "round_prefer_ceil" -> Math.floor(s + 0.5);
            default -> Math.ceil(s - 0.5); // round_prefer_floor
        };
        return (int) Math.clamp(v, 0, in - 1);
    }
}
