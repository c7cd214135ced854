package dev.onednn4j.natives;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a shared library says about itself, read from its bytes: its format, its architecture, the name the dynamic
 * loader knows it by, and the libraries it needs. Enough of ELF (64-bit), Mach-O (64-bit) and PE32+ for
 * {@link PlatformJarsTest} to check the jars of platforms this machine cannot run.
 *
 * @param format "ELF", "Mach-O" or "PE"
 * @param arch   "x86_64" or "arm64" (JavaCPP's names), or the raw machine number
 * @param name   the ELF soname or the Mach-O install name; null for PE, and where there is none
 * @param needed ELF DT_NEEDED, Mach-O LC_LOAD_DYLIB (and its weak, re-export and upward kinds), PE imports
 */
record NativeBinary(String format, String arch, String name, List<String> needed) {

    static NativeBinary parse(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length > 64 && b.getInt(0) == 0x464c457f) {
            return elf(b);
        }
        if (bytes.length > 32 && b.getInt(0) == 0xfeedfacf) {
            return machO(b);
        }
        if (bytes.length > 64 && b.getShort(0) == 0x5a4d) {
            return pe(b);
        }
        throw new IllegalArgumentException("neither ELF, 64-bit Mach-O nor PE");
    }

    private static NativeBinary elf(ByteBuffer b) {
        if (b.get(4) != 2 || b.get(5) != 1) {
            throw new IllegalArgumentException("not a 64-bit little-endian ELF file");
        }
        int machine = Short.toUnsignedInt(b.getShort(0x12));
        String arch = switch (machine) {
            case 62 -> "x86_64";
            case 183 -> "arm64";
            default -> Integer.toString(machine);
        };
        long shoff = b.getLong(0x28);
        int shentsize = Short.toUnsignedInt(b.getShort(0x3a));
        int shnum = Short.toUnsignedInt(b.getShort(0x3c));
        List<String> needed = new ArrayList<>();
        String soname = null;
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != 6) { // SHT_DYNAMIC
                continue;
            }
            int offset = Math.toIntExact(b.getLong(sh + 0x18));
            long size = b.getLong(sh + 0x20);
            int strtab =
                    Math.toIntExact(b.getLong(Math.toIntExact(shoff + (long) b.getInt(sh + 0x28) * shentsize) + 0x18));
            for (int d = offset; d < offset + size; d += 16) {
                long tag = b.getLong(d);
                if (tag == 0) { // DT_NULL
                    break;
                }
                int value = Math.toIntExact(b.getLong(d + 8));
                if (tag == 1) { // DT_NEEDED
                    needed.add(cString(b, strtab + value));
                } else if (tag == 14) { // DT_SONAME
                    soname = cString(b, strtab + value);
                }
            }
        }
        return new NativeBinary("ELF", arch, soname, List.copyOf(needed));
    }

    private static NativeBinary machO(ByteBuffer b) {
        int cpu = b.getInt(4);
        String arch = switch (cpu) {
            case 0x01000007 -> "x86_64";
            case 0x0100000c -> "arm64";
            default -> Integer.toHexString(cpu);
        };
        int ncmds = b.getInt(16);
        int at = 32;
        List<String> needed = new ArrayList<>();
        String installName = null;
        for (int i = 0; i < ncmds; i++) {
            int cmd = b.getInt(at);
            int size = b.getInt(at + 4);
            switch (cmd) {
                // LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LOAD_UPWARD_DYLIB
                case 0xc, 0x80000018, 0x8000001f, 0x80000023 -> needed.add(cString(b, at + b.getInt(at + 8)));
                case 0xd -> installName = cString(b, at + b.getInt(at + 8)); // LC_ID_DYLIB
                default -> {}
            }
            at += size;
        }
        return new NativeBinary("Mach-O", arch, installName, List.copyOf(needed));
    }

    private static NativeBinary pe(ByteBuffer b) {
        int pe = b.getInt(0x3c);
        if (b.getInt(pe) != 0x00004550) {
            throw new IllegalArgumentException("no PE signature");
        }
        int machine = Short.toUnsignedInt(b.getShort(pe + 4));
        String arch = switch (machine) {
            case 0x8664 -> "x86_64";
            case 0xaa64 -> "arm64";
            default -> Integer.toHexString(machine);
        };
        int sections = Short.toUnsignedInt(b.getShort(pe + 6));
        int optionalSize = Short.toUnsignedInt(b.getShort(pe + 20));
        int opt = pe + 24;
        if (Short.toUnsignedInt(b.getShort(opt)) != 0x20b) {
            throw new IllegalArgumentException("not PE32+");
        }
        int importRva = b.getInt(opt + 112 + 8); // data directory 1: the import table
        int table = opt + optionalSize;
        List<String> needed = new ArrayList<>();
        if (importRva != 0) {
            for (int d = offset(b, table, sections, importRva); ; d += 20) {
                int nameRva = b.getInt(d + 12);
                if (nameRva == 0) {
                    break;
                }
                needed.add(cString(b, offset(b, table, sections, nameRva)));
            }
        }
        return new NativeBinary("PE", arch, null, List.copyOf(needed));
    }

    /** The file offset of a relative virtual address, through the section table. */
    private static int offset(ByteBuffer b, int table, int sections, int rva) {
        for (int s = 0; s < sections; s++) {
            int h = table + 40 * s;
            int virtualSize = b.getInt(h + 8);
            int virtualAddress = b.getInt(h + 12);
            int rawSize = b.getInt(h + 16);
            int rawPointer = b.getInt(h + 20);
            if (rva >= virtualAddress && rva < virtualAddress + Math.max(virtualSize, rawSize)) {
                return rva - virtualAddress + rawPointer;
            }
        }
        throw new IllegalArgumentException("RVA " + rva + " is in no section");
    }

    private static String cString(ByteBuffer b, int at) {
        int end = at;
        while (b.get(end) != 0) {
            end++;
        }
        byte[] s = new byte[end - at];
        b.get(at, s);
        return new String(s, StandardCharsets.US_ASCII);
    }
}
