/* Profiling marks: a sled of `bx lr`, one per mark id. Calling entry k leaves k in the
   program counter, which is all the QEMU instruction-count plugin needs to see (it cannot
   read registers): it records its count when an address of this sled executes. */
    .syntax unified
    .thumb
    .section .text.tm_marks, "ax", %progbits
    .balign 4
    .global tm_marks
    .type tm_marks, %function
tm_marks:
    .rept TM_MARK_COUNT
    bx lr
    .endr
    .size tm_marks, . - tm_marks
