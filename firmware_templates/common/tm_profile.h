/* Profiling hooks for the generated model (see docs/generated-api.md): force-included
   when compiling the model's sources. Mark ids: 0 invoke begin, 1 invoke end,
   2 + 2*i layer i begin, 3 + 2*i layer i end. */
#if !defined(TM_PROFILE_H) && !defined(__ASSEMBLER__)
#define TM_PROFILE_H

#include <stdint.h>

#define TM_MARK_INVOKE_BEGIN 0u
#define TM_MARK_INVOKE_END 1u

void tm_marks(void);

static inline void tm_mark(uint32_t id)
{
    if (id < TM_MARK_COUNT) {
        /* &tm_marks carries the Thumb bit; each entry is one 2-byte instruction. */
        ((void (*)(void))((uintptr_t)&tm_marks + 2u * id))();
    }
}

#define TM_LAYER_BEGIN(i) tm_mark(2u + 2u * (uint32_t)(i))
#define TM_LAYER_END(i) tm_mark(3u + 2u * (uint32_t)(i))

#endif
