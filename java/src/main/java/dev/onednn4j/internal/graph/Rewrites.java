package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.graph.Compiler.Node;
import dev.onednn4j.internal.graph.Compiler.Value;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.BatchNorm;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.Eltwise;
import dev.onednn4j.internal.op.Operation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The rewrites a {@link Compiler} makes to the graph before lowering it, in this order: copies that only change the
 * layout go (the compiler chooses layouts), and so do unused results; each BatchNorm with running statistics that
 * alone reads a convolution's result is folded into its weights and bias; element-wise operations and residual
 * additions become post-ops of the convolution or linear layer before them. Each leaves the graph computing the same
 * function; the cross-checks of compiled modules show it (and, through {@link Compiler#MUTATION_PROPERTY}, that they
 * would catch a broken rewrite).
 */
final class Rewrites {
    private final Compiler c;

    Rewrites(Compiler c) {
        this.c = c;
    }

    /** A copy only changes the layout, which the compiler chooses: its users read its source. */
    void removeCopies() {
        for (Node n : c.nodes) {
            if (n.kind == Trace.Kind.COPY) {
                c.replaceUses(n.out, n.in.getFirst());
                c.remove(n);
            }
        }
    }

    /** Nodes whose result nothing reads (and that are not the output) go, last first, so their inputs' count drops. */
    void removeUnused() {
        for (int i = c.nodes.size() - 1; i >= 0; i--) {
            Node n = c.nodes.get(i);
            if (!n.removed && n.out.users.isEmpty() && n.out != c.output) {
                c.remove(n);
            }
        }
    }

    /** The node producing {@code v} if it is an operation whose result nothing but {@code user} reads. */
    private Node soleProducer(Value v, Node user) {
        Node p = v.producer;
        if (p == null || p.removed || p.kind != Trace.Kind.OP || v == c.output) {
            return null;
        }
        return v.users.size() == 1 && v.users.getFirst() == user ? p : null;
    }

    /**
     * Each BatchNorm with running statistics whose input a convolution alone produces becomes part of it: {@code w' =
     * w * scale}, {@code b' = b * scale + shift} per output channel, computed in double.
     */
    void foldBatchNorms() {
        for (Node n : c.nodes) {
            if (n.removed || n.kind != Trace.Kind.OP || !(n.op instanceof BatchNorm bn)) {
                continue;
            }
            Node p = soleProducer(n.in.getFirst(), n);
            double[][] affine = bn.affine();
            if (p == null
                    || !(p.op instanceof Convolution conv)
                    || !p.beforeSum.isEmpty()
                    || affine == null
                    || c.int8.fusedQuantization(p.out) != null) {
                continue; // (a convolution whose output its file quantizes keeps that output)
            }
            p.op = folded(conv, affine[0], affine[1]);
            moveOutput(p, n);
            p.fused.add(n.name);
        }
    }

    /** {@code conv} followed by {@code y = x * scale + shift} per output channel, as one convolution. */
    private Convolution folded(Convolution conv, double[] scale, double[] shift) {
        ConvGeometry g = conv.geometry();
        float[] w = conv.weight().toFloatArray();
        float[] bias = conv.bias() == null ? null : conv.bias().toFloatArray();
        int perChannel = w.length / g.outC();
        float[] fw = new float[w.length];
        float[] fb = new float[g.outC()];
        for (int oc = 0; oc < g.outC(); oc++) {
            for (int k = 0; k < perChannel; k++) {
                fw[oc * perChannel + k] = (float) (w[oc * perChannel + k] * scale[oc]);
            }
            fb[oc] = (float) ((bias == null ? 0.0 : bias[oc]) * scale[oc]
                    + (Compiler.mutated("fold-without-shift") ? 0.0 : shift[oc]));
        }
        TensorImpl wt = c.b.own(TensorImpl.of(fw, g.weightShape()));
        TensorImpl bt = c.b.own(TensorImpl.of(fb, g.outC()));
        return new Convolution(g.withBias(), wt, bt, false);
    }

    /** {@code p} now produces what {@code absorbed} did; {@code absorbed} is gone. */
    private void moveOutput(Node p, Node absorbed) {
        p.out.users.clear();
        p.out = absorbed.out;
        p.out.producer = p;
        absorbed.removed = true;
    }

    /** Element-wise operations and residual additions into the convolutions and linear layers before them. */
    void fuse() {
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Node n : c.nodes) {
                if (n.removed) {
                    continue;
                }
                if (n.kind == Trace.Kind.OP && n.op instanceof Eltwise e) {
                    Node p = soleProducer(n.in.getFirst(), n);
                    if (p != null
                            && p.op instanceof BatchNorm bn
                            && !bn.fusesRelu()
                            && e.isPlainRelu()
                            && c.int8.fusedQuantization(p.out) == null) {
                        // a pre-activation BatchNorm -> ReLU (DenseNet's) in one pass: fuse_norm_relu
                        p.op = bn.withRelu();
                        moveOutput(p, n);
                        p.fused.add(n.name);
                        changed = true;
                    } else if (p != null && p.op.fusesPostOps()) {
                        List<Operation> chain = p.sum == null ? p.beforeSum : p.afterSum;
                        c.int8.keepQuantization(chain, p.out);
                        chain.add(n.op);
                        moveOutput(p, n);
                        p.fused.add(n.name);
                        changed = true;
                    } else if (fuseThroughReshape(n)) {
                        changed = true;
                    }
                } else if (n.kind == Trace.Kind.ADD && n.in.get(0) != n.in.get(1)) {
                    for (int k = 0; k < 2 && !n.removed; k++) {
                        Value into = n.in.get(k);
                        Value other = n.in.get(1 - k);
                        Node p = soleProducer(into, n);
                        if (p != null && p.op.fusesPostOps() && p.sum == null && !dependsOn(other, p)) {
                            c.int8.keepQuantization(p.beforeSum, into);
                            other.users.remove(n);
                            other.users.add(p);
                            p.sum = other;
                            moveOutput(p, n);
                            p.fused.add("add(" + (other.producer == null ? "input" : other.producer.name) + ")");
                            changed = true;
                        }
                    }
                }
            }
        }
    }

    /**
     * An element-wise {@code n} reading a reshape of what a convolution or linear layer alone produced (a linear
     * layer over (*, in) seen as (rows, in) and back): element-wise functions do not care about shapes, so it
     * becomes that layer's post-op and the reshape's users read the reshape.
     */
    private boolean fuseThroughReshape(Node n) {
        Value v = n.in.getFirst();
        Node r = v.producer;
        if (r == null || r.removed || r.kind != Trace.Kind.RESHAPE || v.users.size() != 1 || v == c.output) {
            return false;
        }
        Node p = soleProducer(r.in.getFirst(), r);
        if (p == null || !p.op.fusesPostOps()) {
            return false;
        }
        List<Operation> chain = p.sum == null ? p.beforeSum : p.afterSum;
        c.int8.keepQuantization(chain, p.out);
        if (!c.int8.sameQuantization(v, p.out)) {
            c.int8.keepQuantization(chain, v);
        }
        chain.add(n.op);
        p.fused.add(n.name);
        c.remove(n);
        c.replaceUses(n.out, v);
        return true;
    }

    /** Whether computing {@code v} needs {@code p}'s result. */
    private static boolean dependsOn(Value v, Node p) {
        List<Value> stack = new ArrayList<>(List.of(v));
        Set<Value> seen = new HashSet<>();
        while (!stack.isEmpty()) {
            Value x = stack.removeLast();
            if (!seen.add(x) || x.producer == null) {
                continue;
            }
            if (x.producer == p) {
                return true;
            }
            stack.addAll(x.producer.in);
            if (x.producer.sum != null) {
                stack.add(x.producer.sum);
            }
        }
        return false;
    }
}
