#include <string.h>

#include "tm_nn.h"

int tm_copy(const void *input, void *output, size_t bytes)
{
    if (input != output) {
        memmove(output, input, bytes);
    }
    return TM_OK;
}
