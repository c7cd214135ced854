package dev.onednn4j.internal.exec;

import dev.onednn4j.OneDnnException;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The candidate plans {@link PlanChoice} times for a primitive that reads one source and writes one destination of
 * the caller's: the primitive asked for a pair of layouts ({@link Side}: the caller's own, oneDNN's choice, NHWC,
 * channels in blocks of 16 or 8), reorders from and to the caller's tensors wherever they differ, each pair with the
 * first {@value #IMPLEMENTATIONS_PER_LAYOUT} implementations oneDNN offers for it. An operation brings what is its
 * own: how its primitive is described for two layouts, and how its plan is built for a pair of sides at an
 * implementation.
 */
public final class LayoutChoice {
    /** Implementations tried per pair of layouts, in oneDNN's order (its ranking); reference kernels never. */
    static final int IMPLEMENTATIONS_PER_LAYOUT = 2;

    private LayoutChoice() {}

    /** Which layout the primitive is asked to read or write for a tensor of the call. */
    public enum Side {
        /** The caller's own layout: no reorder. */
        CALLER,
        /** oneDNN's choice ({@code any}), reordered from or to the caller's. */
        ANY,
        /** NHWC, reordered from or to the caller's (the layout oneDNN's brgemm kernels read). */
        CHANNELS_LAST,
        /**
         * Channels in blocks of 16 ({@code aBcd16b}), reordered from or to the caller's: what oneDNN's AVX-512
         * direct and depthwise kernels read, and the cheapest layout to reorder an NCHW tensor into (its reorder is
         * a few times faster than NCHW to NHWC).
         */
        BLOCKED_16,
        /** Channels in blocks of 8 ({@code aBcd8b}): as {@link #BLOCKED_16}, for the AVX2 kernels. */
        BLOCKED_8;

        /** The descriptor the primitive is asked for, for the caller's {@code t} seen with {@code dims}. */
        public MemoryDesc describe(long[] dims, TensorImpl t) {
            return switch (this) {
                case CALLER -> Layouts.of(dims, t);
                case ANY -> Layouts.any(dims);
                case CHANNELS_LAST -> Layouts.of(dims, Format.CHANNELS_LAST);
                case BLOCKED_16 -> Layouts.channelBlocked(dims, 16);
                case BLOCKED_8 -> Layouts.channelBlocked(dims, 8);
            };
        }

        /** Whether the side can describe a tensor of {@code dims}: NHWC and channel blocks are for 4-D tensors only. */
        boolean fits(long[] dims) {
            return this == CALLER || this == ANY || dims.length == 4;
        }

        /**
         * What a plan's primitive reads or writes on this side: the caller's own descriptor {@code user} as it is, or
         * a temporary of the builder's that the plan reorders from or to it.
         */
        public MemoryDesc in(Plan.Builder b, MemoryDesc user, long[] dims, TensorImpl t) {
            return this == CALLER ? user : b.temporary(describe(dims, t));
        }
    }

    /** Describes an operation's primitive reading {@code src} and writing {@code dst}, with {@code attr}. */
    @FunctionalInterface
    public interface Descriptor {
        PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, PrimitiveAttr attr);
    }

    /** Builds an operation's plan with its primitive on a pair of sides, at an implementation (null: oneDNN's first). */
    @FunctionalInterface
    public interface Planner {
        Plan plan(Side src, Side dst, Implementation impl);
    }

    /** One implementation oneDNN offers, with the layouts it reads and writes: what a candidate's plan is built at. */
    public record Implementation(String name, String srcLayout, String dstLayout) {
        /** {@code pd} moved to this implementation ({@code pd} closed if oneDNN no longer offers it). */
        public PrimitiveDesc select(PrimitiveDesc pd, Object what) {
            while (!matches(pd)) {
                if (!pd.nextImplementation()) {
                    pd.close();
                    throw new IllegalStateException(
                            what + ": oneDNN no longer offers " + name + " " + srcLayout + " " + dstLayout);
                }
            }
            return pd;
        }

        private boolean matches(PrimitiveDesc pd) {
            return pd.implementation().equals(name)
                    && pd.query(Arg.SRC).layout().equals(srcLayout)
                    && pd.query(Arg.DST).layout().equals(dstLayout);
        }
    }

    /** {@code pd} at {@code impl}, or as it is when {@code impl} is null (oneDNN's first choice). */
    public static PrimitiveDesc at(Implementation impl, PrimitiveDesc pd, Object what) {
        return impl == null ? pd : impl.select(pd, what);
    }

    /**
     * The pairs every operation tries after its own: NHWC and channel blocks of 16 and of 8, on both sides, with
     * reorders from and to the caller's tensors.
     */
    private static final List<Side[]> REORDERED = List.of(
            new Side[] {Side.CHANNELS_LAST, Side.CHANNELS_LAST},
            new Side[] {Side.BLOCKED_16, Side.BLOCKED_16},
            new Side[] {Side.BLOCKED_8, Side.BLOCKED_8});

    /**
     * The candidates for a call reading {@code x} (seen with {@code srcDims}) and writing {@code out} (seen with
     * {@code dstDims}): for each pair of sides in {@code own} and then in {@link #REORDERED} (those that fit the
     * call's dims), the first {@value #IMPLEMENTATIONS_PER_LAYOUT}
     * implementations oneDNN offers that are {@code usable} (reference kernels never), each kernel on each pair of
     * layouts once. The first pair of {@code own} is the operation's default: its first implementation is always the first
     * candidate, and its descriptor's failure is the caller's; a later pair oneDNN has no implementation for offers
     * none.
     */
    public static List<PlanChoice.Candidate> candidates(
            Side[][] own,
            long[] srcDims,
            TensorImpl x,
            long[] dstDims,
            TensorImpl out,
            Descriptor descriptor,
            Predicate<String> usable,
            Planner planner) {
        List<PlanChoice.Candidate> candidates = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        List<Side[]> pairs = new ArrayList<>(List.of(own));
        pairs.addAll(REORDERED);
        for (int p = 0; p < pairs.size(); p++) {
            Side srcSide = pairs.get(p)[0];
            Side dstSide = pairs.get(p)[1];
            if (p > 0 && !(srcSide.fits(srcDims) && dstSide.fits(dstDims))) {
                continue;
            }
            try (MemoryDesc src = srcSide.describe(srcDims, x);
                    MemoryDesc dst = dstSide.describe(dstDims, out);
                    PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad();
                    PrimitiveDesc pd = descriptor.describe(src, dst, attr)) {
                int taken = 0;
                do {
                    Implementation impl = new Implementation(
                            pd.implementation(),
                            pd.query(Arg.SRC).layout(),
                            pd.query(Arg.DST).layout());
                    String name = "src " + impl.srcLayout() + ", dst " + impl.dstLayout() + ": " + impl.name();
                    boolean first = candidates.isEmpty();
                    boolean ok = !impl.name().startsWith("ref") && usable.test(impl.name());
                    if ((first || ok) && !seen.contains(name)) {
                        seen.add(name);
                        candidates.add(new PlanChoice.Candidate(name, () -> planner.plan(srcSide, dstSide, impl)));
                        taken++;
                    }
                } while (taken < IMPLEMENTATIONS_PER_LAYOUT && pd.nextImplementation());
            } catch (OneDnnException e) {
                if (p == 0) {
                    throw e;
                }
                // oneDNN has no implementation for these layouts: not a candidate
            }
        }
        return candidates;
    }
}
