/* Instruction classes of Thumb/Thumb-2 (ARMv7E-M with FPv4-SP) for tinyml's cycle estimate.
 *
 * tm_decode() maps one instruction's halfwords to a class, after the ARMv7-M Architecture
 * Reference Manual's encoding tables (A5.2 16-bit, A5.3 32-bit, A6 floating point). Classes
 * are what the Cortex-M4 timing table prices differently (tinyml/harness/cycles.py); their
 * names, in this order, are the counter columns of the plugin's log.
 *
 * Header-only so that the plugin and the host test of the decoder compile the same code.
 */
#ifndef TM_CLASSIFY_H
#define TM_CLASSIFY_H

#include <stdint.h>

/* Classes first (each instruction is in exactly one), then extra counters. */
enum tm_counter {
    TM_ALU, TM_IT, TM_LOAD, TM_LOAD_PIPELINED, TM_STORE, TM_STORE_PIPELINED,
    TM_LDM, TM_STM, TM_LDRD, TM_STRD, TM_MUL, TM_MUL_LONG, TM_DSP, TM_DIV, TM_BRANCH,
    TM_VFP_MAC, TM_VFP_LDST, TM_VFP_LDM, TM_VFP_DIV, TM_VFP_SQRT, TM_VFP_OTHER, TM_OTHER,
    TM_N_CLASSES,
    TM_X_LDM_REGS = TM_N_CLASSES,   /* registers loaded by LDM/POP (N of 1+N) */
    TM_X_STM_REGS,                  /* registers stored by STM/PUSH */
    TM_X_VFP_LDM_WORDS,             /* words moved by VLDM/VSTM/VPUSH/VPOP */
    TM_X_PC_LOAD,                   /* loads and pops that write the PC (+P) */
    TM_X_BRANCH_TAKEN,              /* branches whose next instruction is not the fall-through */
    TM_N_COUNTERS
};

static const char *const tm_counter_names[TM_N_COUNTERS] = {
    "alu", "it", "load", "load_pipelined", "store", "store_pipelined",
    "ldm", "stm", "ldrd", "strd", "mul", "mul_long", "dsp", "div", "branch",
    "vfp_mac", "vfp_ldst", "vfp_ldm", "vfp_div", "vfp_sqrt", "vfp_other", "other",
    "ldm_regs", "stm_regs", "vfp_ldm_words", "pc_load", "branch_taken",
};

struct tm_insn {
    uint8_t cls;            /* enum tm_counter, below TM_N_CLASSES; never a pipelined class */
    uint8_t regs;           /* registers (words) an LDM/STM/VLDM/VSTM moves */
    uint8_t regs_counter;   /* the extra counter `regs` adds to */
    uint8_t pc_load;        /* a load or pop writing the PC */
    int8_t rt, rn, rm;      /* single loads and stores: data, base, offset register (-1: none) */
    uint8_t store_imm;      /* a single store with an immediate offset */
};

static inline unsigned tm_popcount(unsigned x)
{
    return (unsigned)__builtin_popcount(x);
}

static inline struct tm_insn tm_class(int cls)
{
    struct tm_insn d = {(uint8_t)cls, 0, 0, 0, -1, -1, -1, 0};
    return d;
}

static inline struct tm_insn tm_single(int load, unsigned rt, unsigned rn, int rm, int imm)
{
    struct tm_insn d = tm_class(load ? TM_LOAD : TM_STORE);
    d.rt = (int8_t)rt;
    d.rn = (int8_t)rn;
    d.rm = (int8_t)rm;
    d.store_imm = (uint8_t)(!load && imm);
    return d;
}

static inline struct tm_insn tm_multiple(int load, unsigned regs, int writes_pc)
{
    struct tm_insn d = tm_class(load ? TM_LDM : TM_STM);
    d.regs = (uint8_t)regs;
    d.regs_counter = load ? TM_X_LDM_REGS : TM_X_STM_REGS;
    d.pc_load = (uint8_t)(load && writes_pc);
    return d;
}

static inline struct tm_insn tm_decode16(unsigned h)
{
    if ((h >> 14) == 0) {                       /* shift, add, subtract, move, compare */
        return tm_class(TM_ALU);
    }
    if ((h >> 10) == 0x10) {                    /* data processing; opcode 1101 is MULS */
        return tm_class(((h >> 6) & 0xF) == 0xD ? TM_MUL : TM_ALU);
    }
    if ((h >> 10) == 0x11) {                    /* special data processing, BX, BLX */
        unsigned op = (h >> 8) & 3, rd = ((h >> 4) & 8) | (h & 7);
        return tm_class(op == 3 || (op != 1 && rd == 15) ? TM_BRANCH : TM_ALU);
    }
    if ((h >> 11) == 0x09) {                    /* LDR literal */
        return tm_single(1, (h >> 8) & 7, 15, -1, 1);
    }
    if ((h >> 12) == 0x5) {                     /* register offset: STR STRH STRB LDRSB LDR ... */
        return tm_single(((h >> 9) & 7) >= 3, h & 7, (h >> 3) & 7, (int)((h >> 6) & 7), 0);
    }
    if ((h >> 13) == 0x3 || (h >> 12) == 0x8) { /* word, byte, halfword, immediate offset */
        return tm_single((h >> 11) & 1, h & 7, (h >> 3) & 7, -1, 1);
    }
    if ((h >> 12) == 0x9) {                     /* SP-relative */
        return tm_single((h >> 11) & 1, (h >> 8) & 7, 13, -1, 1);
    }
    if ((h >> 12) == 0xA) {                     /* ADR, ADD SP */
        return tm_class(TM_ALU);
    }
    if ((h >> 12) == 0xB) {                     /* miscellaneous */
        if ((h & 0xF500) == 0xB100) {           /* CBZ, CBNZ */
            return tm_class(TM_BRANCH);
        }
        if ((h & 0xFE00) == 0xB400) {           /* PUSH {list, LR} */
            return tm_multiple(0, tm_popcount(h & 0x1FF), 0);
        }
        if ((h & 0xFE00) == 0xBC00) {           /* POP {list, PC} */
            return tm_multiple(1, tm_popcount(h & 0x1FF), (h >> 8) & 1);
        }
        if ((h & 0xFF00) == 0xBF00) {           /* IT, or a hint (NOP, WFI, ...) when mask is 0 */
            return tm_class(h & 0xF ? TM_IT : TM_OTHER);
        }
        if ((h & 0xFF00) == 0xBE00 || (h & 0xFFE0) == 0xB660) {   /* BKPT, CPS */
            return tm_class(TM_OTHER);
        }
        return tm_class(TM_ALU);                /* SP adjust, extend, reverse */
    }
    if ((h >> 12) == 0xC) {                     /* STM, LDM */
        return tm_multiple((h >> 11) & 1, tm_popcount(h & 0xFF), 0);
    }
    if ((h >> 12) == 0xD) {                     /* B<cond>; condition 1110 is UDF, 1111 SVC */
        return tm_class(((h >> 8) & 0xF) >= 0xE ? TM_OTHER : TM_BRANCH);
    }
    if ((h >> 11) == 0x1C) {                    /* B */
        return tm_class(TM_BRANCH);
    }
    return tm_class(TM_OTHER);
}

/* Coprocessor space: only CP10/CP11 (the FPU) is priced; anything else is `other`. */
static inline struct tm_insn tm_decode_fp(unsigned hw1, unsigned hw2)
{
    if (((hw2 >> 9) & 7) != 5) {
        return tm_class(TM_OTHER);
    }
    unsigned op = (hw1 >> 4) & 0x3F;
    if ((op & 0x3A) == 0x00) {                  /* 00000x undefined, 00010x VMOV two registers */
        return tm_class(op & 4 ? TM_VFP_OTHER : TM_OTHER);
    }
    if (!(op & 0x20)) {                         /* extension register load/store */
        unsigned p = (hw1 >> 8) & 1, w = (hw1 >> 5) & 1;
        if (p && !w) {
            return tm_class(TM_VFP_LDST);       /* VLDR, VSTR */
        }
        struct tm_insn d = tm_class(TM_VFP_LDM);   /* VLDM, VSTM, VPUSH, VPOP */
        d.regs = (uint8_t)(hw2 & 0xFF);
        d.regs_counter = TM_X_VFP_LDM_WORDS;
        return d;
    }
    if (hw2 & 0x10) {                           /* VMOV core <-> S, VMRS, VMSR */
        return tm_class(TM_VFP_OTHER);
    }
    unsigned opc1 = (hw1 >> 4) & 0xB;           /* without the D bit */
    if (opc1 == 0x0 || opc1 == 0x1 || opc1 == 0x9 || opc1 == 0xA) {
        return tm_class(TM_VFP_MAC);            /* VMLA VMLS VNMLA VNMLS VFMA VFMS VFNMA VFNMS */
    }
    if (opc1 == 0x8) {
        return tm_class(TM_VFP_DIV);
    }
    if (opc1 == 0xB && (hw1 & 0xF) == 1 && ((hw2 >> 6) & 3) == 3) {
        return tm_class(TM_VFP_SQRT);
    }
    return tm_class(TM_VFP_OTHER);              /* VADD VSUB VMUL VNMUL VABS VNEG VCMP VCVT VMOV */
}

static inline struct tm_insn tm_decode32(unsigned hw1, unsigned hw2)
{
    unsigned op1 = (hw1 >> 11) & 3, op2 = (hw1 >> 4) & 0x7F;
    unsigned rt = hw2 >> 12, rn = hw1 & 0xF;
    if (op1 != 2 && (op2 & 0x40)) {
        return tm_decode_fp(hw1, hw2);          /* coprocessor (op1 2: bit 6 is an operand) */
    }
    if (op1 == 1) {
        if ((op2 & 0x64) == 0x00) {             /* load/store multiple */
            unsigned kind = (hw1 >> 7) & 3;
            if (kind == 0 || kind == 3) {
                return tm_class(TM_OTHER);      /* SRS, RFE */
            }
            return tm_multiple((hw1 >> 4) & 1, tm_popcount(hw2), hw2 >> 15);
        }
        if ((op2 & 0x64) == 0x04) {             /* load/store dual or exclusive, table branch */
            unsigned a = (hw1 >> 7) & 3, b = (hw1 >> 4) & 3;
            if (a == 1 && b == 1 && ((hw2 >> 5) & 7) == 0) {
                return tm_class(TM_BRANCH);     /* TBB, TBH */
            }
            if ((a & 2) || (b & 2)) {
                return tm_class((hw1 >> 4) & 1 ? TM_LDRD : TM_STRD);
            }
            return tm_single((hw1 >> 4) & 1, rt, rn, -1, 1);   /* LDREX*, STREX* */
        }
        /* data processing, shifted register; op 0110 is PKHBT/PKHTB */
        return tm_class(((hw1 >> 5) & 0xF) == 6 ? TM_DSP : TM_ALU);
    }
    if (op1 == 2) {
        if (!(hw2 >> 15)) {                     /* data processing, immediate */
            unsigned op = (hw1 >> 4) & 0x1F;
            int sat = (hw1 >> 9) & 1 && (op == 0x10 || op == 0x12 || op == 0x18 || op == 0x1A);
            return tm_class(sat ? TM_DSP : TM_ALU);   /* SSAT SSAT16 USAT USAT16 */
        }
        unsigned b = (hw2 >> 12) & 7;           /* branches and miscellaneous control */
        if (b & 1) {
            return tm_class(TM_BRANCH);         /* B.W, BL */
        }
        if ((b & 5) == 0 && (op2 & 0x38) != 0x38) {
            return tm_class(TM_BRANCH);         /* B<cond>.W */
        }
        return tm_class(TM_OTHER);              /* MSR, MRS, hints, barriers, UDF */
    }
    /* op1 == 3 */
    if ((op2 & 0x71) == 0x00 || (op2 & 0x67) == 0x01 || (op2 & 0x67) == 0x03
        || (op2 & 0x67) == 0x05) {              /* store single; load byte, halfword, word */
        int load = op2 & 1;
        int reg_offset = !((hw1 >> 7) & 1) && rn != 15 && (hw2 & 0x0FC0) == 0;
        struct tm_insn d = tm_single(load, rt, rn, reg_offset ? (int)(hw2 & 0xF) : -1, !reg_offset);
        d.pc_load = (uint8_t)((op2 & 0x67) == 0x05 && rt == 15);
        return d;
    }
    if ((op2 & 0x70) == 0x20) {                 /* data processing, register */
        unsigned a = (hw1 >> 4) & 0xF, c = (hw2 >> 4) & 0xF;
        if (!(a & 8) && (c & 8)) {              /* extend; SXTB16 SXTAB16 UXTB16 UXTAB16 are SIMD */
            return tm_class((a & 6) == 2 ? TM_DSP : TM_ALU);
        }
        if ((a & 8) && !(c & 8)) {
            return tm_class(TM_DSP);            /* parallel add/subtract */
        }
        if ((a & 0xC) == 8 && (c & 0xC) == 8) { /* QADD QDADD QSUB QDSUB, SEL; REV CLZ are ALU */
            return tm_class((a & 1) == 0 ? TM_DSP : TM_ALU);
        }
        return tm_class(TM_ALU);                /* shifts by register */
    }
    if ((op2 & 0x78) == 0x30) {                 /* MUL MLA MLS; 16-bit, dual and most-significant */
        return tm_class((hw1 >> 4) & 7 ? TM_DSP : TM_MUL);
    }
    if ((op2 & 0x78) == 0x38) {                 /* long multiply, divide */
        unsigned kind = (hw1 >> 4) & 7;
        return tm_class(kind == 1 || kind == 3 ? TM_DIV : TM_MUL_LONG);
    }
    return tm_class(TM_OTHER);
}

/* hw2 is ignored for a 16-bit instruction. */
static inline struct tm_insn tm_decode(unsigned hw1, unsigned hw2)
{
    return (hw1 >> 11) >= 0x1D ? tm_decode32(hw1, hw2) : tm_decode16(hw1);
}

static inline int tm_is_memory(const struct tm_insn *d)
{
    switch (d->cls) {
    case TM_LOAD: case TM_STORE: case TM_LDM: case TM_STM: case TM_LDRD: case TM_STRD:
    case TM_VFP_LDST: case TM_VFP_LDM:
        return 1;
    default:
        return 0;
    }
}

/* The class a single load or store counts as beside its neighbours in the block (Cortex-M4
 * TRM, "Load/store timings"): a load or store right after a load whose result it does not
 * address with pipelines (one cycle less); a store with an immediate offset followed by an
 * instruction that is not a load or store overlaps it. `next` is NULL at the block's end. */
static inline int tm_pipelined_class(const struct tm_insn *prev, const struct tm_insn *cur,
                                     const struct tm_insn *next)
{
    int after_load = prev->cls == TM_LOAD && prev->rt != cur->rn && prev->rt != cur->rm;
    if (cur->cls == TM_LOAD) {
        return after_load ? TM_LOAD_PIPELINED : TM_LOAD;
    }
    if (cur->cls == TM_STORE) {
        int overlapped = cur->store_imm && next && !tm_is_memory(next);
        return after_load || overlapped ? TM_STORE_PIPELINED : TM_STORE;
    }
    return cur->cls;
}

#endif
