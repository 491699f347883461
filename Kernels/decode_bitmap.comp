#version 450
// Decode attention over bitmap-sparse pages (Mustafar's format): reads only the nonzeros.
#include "include/decode_bindings.glsl"
#include "include/rows_bitmap.glsl"

void loadRows(PageEntry p, uint t, uint lane) {
    loadBitmapRows(0u, p.keyOffset, p.tokens, t, lane);
    loadBitmapRows(U, p.valueOffset, p.tokens, t, lane);
}

#include "include/decode_main.glsl"
