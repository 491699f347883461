#version 450
// Decode attention over dense f16 pages: the baseline every compressed kernel is compared with.
#include "include/decode_bindings.glsl"
#include "include/rows_f16.glsl"

void loadKeys(PageEntry p, uint t, uint lane) { loadF16(p.keyOffset, t, lane); }
void loadValues(PageEntry p, uint t, uint lane) { loadF16(p.valueOffset, t, lane); }

#include "include/decode_main.glsl"
