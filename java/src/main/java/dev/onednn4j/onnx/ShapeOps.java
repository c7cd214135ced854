package dev.onednn4j.onnx;

import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.onnx.OnnxGraph.Data;
import dev.onednn4j.internal.op.ConcatOp;
import dev.onednn4j.internal.op.CopyOp;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.onnx.Resolution.Ctx;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ONNX operations that compute or move shapes and data (Shape, Constant, Reshape, Transpose, Concat, Slice,
 * Gather, Split, Expand, Pad, ...): folded where constant, views or reorders where not.
 */
final class ShapeOps {
    private ShapeOps() {}

    static void shape(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long start = c.i("start", 0);
        long end = c.i("end", r);
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        double[] v = new double[(int) Math.max(end - start, 0)];
        for (int i = 0; i < v.length; i++) {
            v[i] = s[(int) start + i];
        }
        c.constOut(0, OnnxGraph.INT64, new long[] {v.length}, v);
    }

    static void constant(Ctx c) {
        var a = c.node.attributes();
        if (a.containsKey("value")) {
            Data d = a.get("value").t();
            c.constOut(0, d.elemType(), d.shape(), d.toDoubles());
        } else if (a.containsKey("value_float")) {
            c.constOut(0, OnnxGraph.FLOAT, new long[0], new double[] {
                a.get("value_float").f()
            });
        } else if (a.containsKey("value_floats")) {
            float[] f = a.get("value_floats").floats();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            c.constOut(0, OnnxGraph.FLOAT, new long[] {f.length}, d);
        } else if (a.containsKey("value_int")) {
            c.constOut(0, OnnxGraph.INT64, new long[0], new double[] {
                a.get("value_int").i()
            });
        } else if (a.containsKey("value_ints")) {
            long[] l = a.get("value_ints").ints();
            c.constOut(0, OnnxGraph.INT64, new long[] {l.length}, Nd.doubles(l));
        } else {
            throw c.error("Constant has no value attribute this library reads (value, value_float(s), value_int(s))");
        }
    }

    static void constantOfShape(Ctx c) {
        long[] shape = Nd.longs(c.constant(0, "shape"));
        checkShape(c, shape);
        var a = c.attr("value");
        int type = a == null ? OnnxGraph.FLOAT : a.t().elemType();
        double v = a == null ? 0 : a.t().toDoubles()[0];
        double[] d = new double[Nd.numel(shape)];
        Arrays.fill(d, v);
        c.constOut(0, type, shape, d);
    }

    static void checkShape(Ctx c, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw c.error("negative dimension in shape %s", Arrays.toString(shape));
            }
        }
        Nd.numel(shape);
    }

    static void range(Ctx c) {
        double start = c.constant(0, "start")[0];
        double limit = c.constant(1, "limit")[0];
        double delta = c.constant(2, "delta")[0];
        if (delta == 0) {
            throw c.error("delta must not be 0");
        }
        long n = (long) Math.max(Math.ceil((limit - start) / delta), 0);
        if (n > Integer.MAX_VALUE - 8) {
            throw c.error("Range of %d elements is too large", n);
        }
        double[] d = new double[(int) n];
        for (int i = 0; i < d.length; i++) {
            d[i] = start + i * delta;
        }
        c.constOut(0, c.need(0).type(), new long[] {n}, d);
    }

    static void reshape(Ctx c) {
        long[] in = c.shape(0);
        long[] target = Nd.longs(c.constant(1, "shape"));
        boolean allowZero = c.i("allowzero", 0) == 1;
        long[] out = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && !allowZero) {
                if (i >= in.length) {
                    throw c.error(
                            "shape %s copies dimension %d of an input of rank %d",
                            Arrays.toString(target), i, in.length);
                }
                out[i] = in[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) {
                    throw c.error("only one dimension can be inferred, shape %s", Arrays.toString(target));
                }
                infer = i;
            } else if (out[i] < 0) {
                throw c.error("invalid shape dimension %d in %s", out[i], Arrays.toString(target));
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            int n = Nd.numel(in);
            if (known == 0 || n % known != 0) {
                throw c.error("shape %s is invalid for input of size %d", Arrays.toString(target), n);
            }
            out[infer] = n / known;
        }
        c.view(out);
    }

    static long[] axesOf(Ctx c, String what) {
        if (c.opset >= 13 && c.in(1) != null) {
            return Nd.longs(c.constant(1, what));
        }
        return c.ints(what, null);
    }

    static void squeeze(Ctx c) {
        long[] s = c.shape(0);
        long[] axes = axesOf(c, "axes");
        List<Long> out = new ArrayList<>();
        boolean[] drop = new boolean[s.length];
        if (axes == null) {
            for (int i = 0; i < s.length; i++) {
                drop[i] = s[i] == 1;
            }
        } else {
            for (long a : axes) {
                int ax = Nd.axis(a, s.length, c.op());
                if (s[ax] != 1) {
                    throw c.error("cannot squeeze dimension %d of size %d (shape %s)", ax, s[ax], Arrays.toString(s));
                }
                drop[ax] = true;
            }
        }
        for (int i = 0; i < s.length; i++) {
            if (!drop[i]) {
                out.add(s[i]);
            }
        }
        c.view(out.stream().mapToLong(Long::longValue).toArray());
    }

    static void unsqueeze(Ctx c) {
        long[] s = c.shape(0);
        long[] axes = axesOf(c, "axes");
        if (axes == null) {
            throw c.error("Unsqueeze needs axes");
        }
        int r = s.length + axes.length;
        boolean[] added = new boolean[r];
        for (long a : axes) {
            int ax = Nd.axis(a, r, c.op());
            if (added[ax]) {
                throw c.error("axis %d appears twice in %s", ax, Arrays.toString(axes));
            }
            added[ax] = true;
        }
        long[] out = new long[r];
        for (int i = 0, j = 0; i < r; i++) {
            out[i] = added[i] ? 1 : s[j++];
        }
        c.view(out);
    }

    static void transpose(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long[] p = c.ints("perm", null);
        int[] perm = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            perm[i] = p == null ? r - 1 - i : Nd.axis(p[i], r, c.op());
            if (seen[perm[i]] || (p != null && p.length != r)) {
                throw c.error("perm %s is not a permutation of %d axes", Arrays.toString(p), r);
            }
            seen[perm[i]] = true;
        }
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            out[i] = s[perm[i]];
        }
        if (!c.need(0).isConst()) {
            c.graph(CopyOp.permute(s, perm), 0);
            return;
        }
        c.java(new long[][] {out}, new int[] {c.need(0).type()}, in -> new double[][] {Nd.transpose(in[0], s, perm)});
    }

    static void concat(Ctx c) {
        int n = c.inputs();
        long[] first = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), first.length, c.op());
        long[] out = first.clone();
        out[axis] = 0;
        for (int k = 0; k < n; k++) {
            long[] s = c.shape(k);
            for (int d = 0; d < first.length; d++) {
                if (s.length != first.length || (d != axis && s[d] != first[d])) {
                    throw c.error(
                            "Sizes of tensors must match except in dimension %d. Expected size %d but got size %d for "
                                    + "tensor number %d in the list (shapes %s and %s)",
                            axis,
                            d < first.length ? first[d] : -1,
                            d < s.length ? s[d] : -1,
                            k,
                            Arrays.toString(first),
                            Arrays.toString(s));
                }
            }
            out[axis] += s[axis];
        }
        List<long[]> parts = new ArrayList<>();
        TensorImpl[] consts = new TensorImpl[n];
        List<Integer> computed = new ArrayList<>();
        boolean fold = c.allConst();
        for (int k = 0; k < n; k++) {
            parts.add(c.shape(k));
            if (c.need(k).isConst() && !fold) {
                consts[k] = OnnxOps.impl(c.constantTensor(k));
            } else {
                computed.add(k);
            }
        }
        int[] inputs = computed.stream().mapToInt(Integer::intValue).toArray();
        c.graph(new ConcatOp(axis, parts, consts), inputs, 0, null);
    }

    static void slice(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps;
        if (c.opset < 10) {
            starts = c.ints("starts", null);
            ends = c.ints("ends", null);
            axes = c.ints("axes", null);
            steps = null;
        } else {
            starts = Nd.longs(c.constant(1, "starts"));
            ends = Nd.longs(c.constant(2, "ends"));
            axes = c.in(3) == null ? null : Nd.longs(c.constant(3, "axes"));
            steps = c.in(4) == null ? null : Nd.longs(c.constant(4, "steps"));
        }
        long[] start = new long[r];
        long[] step = new long[r];
        long[] count = s.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            int ax = Nd.axis(axes == null ? i : axes[i], r, c.op());
            long st = steps == null ? 1 : steps[i];
            if (st == 0) {
                throw c.error("slice step cannot be zero");
            }
            long dim = s[ax];
            long b = starts[i];
            long e = ends[i];
            b = b < 0 ? b + dim : b;
            e = e < 0 ? e + dim : e;
            if (st > 0) {
                b = Math.clamp(b, 0, dim);
                e = Math.clamp(e, 0, dim);
                count[ax] = Math.max(0, (e - b + st - 1) / st);
            } else {
                b = Math.clamp(b, -1, dim - 1);
                e = Math.clamp(e, -1, dim - 1);
                count[ax] = Math.max(0, (b - e - st - 1) / -st);
            }
            start[ax] = count[ax] == 0 ? 0 : b;
            step[ax] = st;
        }
        boolean unit = Arrays.stream(step).allMatch(x -> x == 1) && Nd.numel(count) > 0;
        if (!c.need(0).isConst() && unit) {
            c.graph(CopyOp.block(s, start, count), 0);
            return;
        }
        CopyOp stepped = c.need(0).isConst() || Nd.numel(count) == 0 ? null : CopyOp.strided(s, start, count, step);
        if (stepped != null) {
            c.graph(stepped, new int[] {0}, 0, count);
            return;
        }
        c.java(new long[][] {count}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in ->
                new double[][] {Nd.slice(in[0], s, start, step, count)});
    }

    static void gather(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), s.length, c.op());
        long[] idxShape = c.shape(1);
        double[] idx = c.constant(1, "indices");
        long dim = s[axis];
        int[] index = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            long v = (long) idx[i];
            if (v < -dim || v >= dim) {
                throw c.error("index %d is out of bounds for dimension %d with size %d", v, axis, dim);
            }
            index[i] = (int) (v < 0 ? v + dim : v);
        }
        long[] out = new long[s.length - 1 + idxShape.length];
        int k = 0;
        for (int d = 0; d < axis; d++) {
            out[k++] = s[d];
        }
        for (long d : idxShape) {
            out[k++] = d;
        }
        for (int d = axis + 1; d < s.length; d++) {
            out[k++] = s[d];
        }
        long outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= s[d];
        }
        long inner = 1;
        for (int d = axis + 1; d < s.length; d++) {
            inner *= s[d];
        }
        if (!c.need(0).isConst() && idxShape.length == 0) {
            long[] start = new long[s.length];
            start[axis] = index[0];
            long[] count = s.clone();
            count[axis] = 1;
            c.graph(CopyOp.block(s, start, count), new int[] {0}, 0, out);
            return;
        }
        long o = outer;
        int in2 = (int) inner;
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = new double[Nd.numel(out)];
            int at = 0;
            // [outer, dim, inner] -> [outer, |indices|, inner]
            for (long i = 0; i < o; i++) {
                for (int j : index) {
                    System.arraycopy(in[0], (int) ((i * dim + j) * in2), r, at, in2);
                    at += in2;
                }
            }
            return new double[][] {r};
        });
    }

    static void split(Ctx c) {
        long[] s = c.shape(0);
        int axis = Nd.axis(c.i("axis", 0), s.length, c.op());
        int outs = c.node.outputs().size();
        long[] sizes;
        if (c.in(1) != null) {
            sizes = Nd.longs(c.constant(1, "split"));
        } else if (c.attr("split") != null) {
            sizes = c.ints("split", null);
        } else {
            long n = c.i("num_outputs", outs);
            sizes = new long[outs];
            long each = (s[axis] + n - 1) / n;
            for (int i = 0; i < outs; i++) {
                sizes[i] = Math.min(each, Math.max(0, s[axis] - i * each));
            }
        }
        if (sizes.length != outs || Arrays.stream(sizes).sum() != s[axis]) {
            throw c.error(
                    "split sizes %s do not add up to dimension %d of size %d over %d outputs",
                    Arrays.toString(sizes), axis, s[axis], outs);
        }
        long[][] shapes = new long[outs][];
        int[] types = new int[outs];
        long[] offsets = new long[outs];
        long acc = 0;
        for (int i = 0; i < outs; i++) {
            shapes[i] = s.clone();
            shapes[i][axis] = sizes[i];
            types[i] = c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT;
            offsets[i] = acc;
            acc += sizes[i];
        }
        if (!c.need(0).isConst() && Arrays.stream(sizes).allMatch(x -> x > 0)) {
            for (int i = 0; i < outs; i++) {
                long[] start = new long[s.length];
                start[axis] = offsets[i];
                c.graph(CopyOp.block(s, start, shapes[i]), new int[] {0}, i, null);
            }
            return;
        }
        long[] one = new long[s.length];
        Arrays.fill(one, 1);
        c.java(shapes, types, in -> {
            double[][] r = new double[outs][];
            for (int i = 0; i < outs; i++) {
                long[] start = new long[s.length];
                start[axis] = offsets[i];
                r[i] = Nd.slice(in[0], s, start, one, shapes[i]);
            }
            return r;
        });
    }

    static void expand(Ctx c) {
        long[] s = c.shape(0);
        long[] target = Nd.longs(c.constant(1, "shape"));
        long[] out = Nd.broadcast(s, target, c.op());
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            int[] idx = Nd.broadcastIndex(s, out);
            double[] r = new double[idx.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = in[0][idx[i]];
            }
            return new double[][] {r};
        });
    }

    static void tile(Ctx c) {
        long[] s = c.shape(0);
        long[] rep = Nd.longs(c.constant(1, "repeats"));
        if (rep.length != s.length) {
            throw c.error(
                    "repeats %s must have one entry per dimension of %s", Arrays.toString(rep), Arrays.toString(s));
        }
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i] * rep[i];
        }
        long[] st = Nd.strides(s);
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = new double[Nd.numel(out)];
            long[] pos = new long[out.length];
            for (int k = 0; k < r.length; k++) {
                long at = 0;
                for (int d = 0; d < out.length; d++) {
                    at += (pos[d] % s[d]) * st[d];
                }
                r[k] = in[0][(int) at];
                for (int d = out.length - 1; d >= 0 && ++pos[d] == out[d]; d--) {
                    pos[d] = 0;
                }
            }
            return new double[][] {r};
        });
    }

    static void scatterNd(Ctx c) {
        long[] s = c.shape(0);
        long[] is = c.shape(1);
        String reduction = c.s("reduction", "none");
        if (!reduction.equals("none")) {
            throw c.error("ScatterND reduction '%s' is not supported (only none)", reduction);
        }
        double[] idx = c.constant(1, "indices");
        int q = (int) is[is.length - 1];
        if (q > s.length) {
            throw c.error("indices' last dimension %d exceeds the data's rank %d", q, s.length);
        }
        long[] st = Nd.strides(s);
        int block = 1;
        for (int d = q; d < s.length; d++) {
            block *= (int) s[d];
        }
        int updates = idx.length / Math.max(q, 1);
        int[] at = new int[updates];
        for (int u = 0; u < updates; u++) {
            long off = 0;
            for (int d = 0; d < q; d++) {
                long v = (long) idx[u * q + d];
                if (v < -s[d] || v >= s[d]) {
                    throw c.error("index %d is out of bounds for dimension %d with size %d", v, d, s[d]);
                }
                off += (v < 0 ? v + s[d] : v) * st[d];
            }
            at[u] = (int) off;
        }
        int b = block;
        c.java(new long[][] {s}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] r = in[0].clone();
            for (int u = 0; u < at.length; u++) {
                System.arraycopy(in[2], u * b, r, at[u], b);
            }
            return new double[][] {r};
        });
    }

    static void pad(Ctx c) {
        long[] s = c.shape(0);
        int r = s.length;
        String mode = c.s("mode", "constant");
        long[] pads = c.opset >= 11 ? Nd.longs(c.constant(1, "pads")) : c.ints("pads", null);
        double value = c.opset >= 11 ? (c.in(2) == null ? 0 : c.constant(2, "constant_value")[0]) : c.f("value", 0);
        long[] axes = c.in(3) == null ? null : Nd.longs(c.constant(3, "axes"));
        int na = axes == null ? r : axes.length;
        if (pads == null || pads.length != 2 * na) {
            throw c.error("pads must hold 2 values per padded axis (%d), got %s", na, Arrays.toString(pads));
        }
        long[] before = new long[r];
        long[] out = s.clone();
        for (int i = 0; i < na; i++) {
            int ax = axes == null ? i : Nd.axis(axes[i], r, c.op());
            before[ax] = pads[i];
            out[ax] = s[ax] + pads[i] + pads[i + na];
            if (out[ax] < 0 || pads[i] < 0 || pads[i + na] < 0) {
                throw c.error("negative pads %s are not supported", Arrays.toString(pads));
            }
            if (!mode.equals("constant") && (pads[i] >= s[ax] || pads[i + na] >= s[ax]) && mode.equals("reflect")) {
                throw c.error(
                        "reflect padding %s must be smaller than the dimension (%d)", Arrays.toString(pads), s[ax]);
            }
        }
        if (!mode.equals("constant") && !mode.equals("reflect") && !mode.equals("edge")) {
            throw c.error("pad mode '%s' is not supported (constant, reflect, edge)", mode);
        }
        if (Arrays.stream(pads).allMatch(p -> p == 0)) {
            c.view(s);
            return;
        }
        long[] st = Nd.strides(s);
        c.java(new long[][] {out}, new int[] {c.allConst() ? c.need(0).type() : OnnxGraph.FLOAT}, in -> {
            double[] res = new double[Nd.numel(out)];
            long[] pos = new long[r];
            for (int k = 0; k < res.length; k++) {
                long at = 0;
                boolean outside = false;
                for (int d = 0; d < r; d++) {
                    long p = pos[d] - before[d];
                    if (p < 0 || p >= s[d]) {
                        if (mode.equals("constant")) {
                            outside = true;
                            break;
                        }
                        p = mode.equals("edge") ? Math.clamp(p, 0, s[d] - 1) : (p < 0 ? -p : 2 * (s[d] - 1) - p);
                    }
                    at += p * st[d];
                }
                res[k] = outside ? value : in[0][(int) at];
                for (int d = r - 1; d >= 0 && ++pos[d] == out[d]; d--) {
                    pos[d] = 0;
                }
            }
            return new double[][] {res};
        });
    }
}
