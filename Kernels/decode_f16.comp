#version 450
// Decode attention over dense f16 pages: the baseline every compressed kernel is compared with.
#include "include/decode_bindings.glsl"
#include "include/rows_f16.glsl"

void loadRows(PageEntry p, uint t, uint lane) {
    loadF16Rows(0u, p.keyOffset, p.tokens, t, lane);
    loadF16Rows(U, p.valueOffset, p.tokens, t, lane);
}

#include "include/decode_main.glsl"
