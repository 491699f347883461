#version 450
// Decode attention over bitmap-sparse pages (Mustafar's format): reads only the nonzeros.
#include "include/decode_bindings.glsl"
#include "include/rows_bitmap.glsl"

void loadKeys(uint slot, PageEntry p, uint t, uint lane) { loadBitmap(slot, p.keyOffset, p.tokens, t, lane); }
void loadValues(uint slot, PageEntry p, uint t, uint lane) { loadBitmap(slot, p.valueOffset, p.tokens, t, lane); }

#include "include/decode_main.glsl"
