/* The test vectors on the host, to stdout. */
#include <stdio.h>

#include "dsp_vectors.h"

void tm_dsp_emit(const char *text)
{
    fputs(text, stdout);
}

int main(void)
{
    tm_dsp_vectors();
    return 0;
}
