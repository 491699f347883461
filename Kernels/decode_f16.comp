#version 450
// Decode attention over dense f16 pages: the baseline every compressed kernel is compared with.
#include "include/decode_bindings.glsl"
#include "include/rows_f16.glsl"

void loadKeys(uint slot, PageEntry p, uint t, uint lane) { loadF16(slot, p.keyOffset, t, lane); }
void loadValues(uint slot, PageEntry p, uint t, uint lane) { loadF16(slot, p.valueOffset, t, lane); }

#include "include/decode_main.glsl"
