#ifndef DSP_VECTORS_H
#define DSP_VECTORS_H

/* Writes one line of results; the host and the firmware main each give one. */
void tm_dsp_emit(const char *text);

/* Runs every primitive over the test operands. */
void tm_dsp_vectors(void);

#endif
