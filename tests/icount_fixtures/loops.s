@ Bare-metal mps2-an386 program for the class counters: known loops between profiling marks.
@ Layer 0: N SMLADs; layer 1: M VMLAs with an LDM of 4 registers each, then one SDIV.
@ Marks follow the firmware's convention: 0 invoke begin, 1 end, 2+2i / 3+2i layer i.
    .syntax unified
    .cpu cortex-m4
    .fpu fpv4-sp-d16
    .thumb

    .text
    .word 0x20010000                @ initial stack pointer
    .word reset                     @ reset vector (Thumb bit from .thumb_func)

    .thumb_func
    .global reset
reset:
    ldr r0, =0xE000ED88             @ CPACR: enable CP10/CP11 (the FPU)
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    bl mark0
    bl mark2
    movs r4, #N_SMLAD
1:  smlad r0, r1, r2, r0
    subs r4, #1
    bne 1b
    bl mark3
    bl mark4
    movs r4, #M_VMLA
    ldr r5, =0x20000124             @ a literal-pool load (no immediate encodes it)
2:  vmla.f32 s0, s1, s2
    ldm.w r5, {r6, r7, r8, r9}
    subs r4, #1
    bne 2b
    movs r1, #3
    sdiv r0, r0, r1
    bl mark5
    bl mark1
    movs r0, #0x18                  @ semihosting SYS_EXIT
    ldr r1, =0x20026                @ ADP_Stopped_ApplicationExit: exit status 0
    bkpt 0xab
3:  b 3b

    .align 2
    .global tm_marks
tm_marks:
mark0: bx lr
mark1: bx lr
mark2: bx lr
mark3: bx lr
mark4: bx lr
mark5: bx lr
    .ltorg
