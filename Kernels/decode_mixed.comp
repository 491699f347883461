#version 450
// Decode attention over pages of any encodings, mixed within a head (ARKV tiers) and across
// keys and values: a switch per page on the entry's kinds (uniform within a token group).
#include "include/decode_bindings.glsl"
#include "include/rows_f16.glsl"
#include "include/rows_quant.glsl"
#include "include/rows_bitmap.glsl"

void loadRowsOf(uint kind, uint first, uint offset, uint n, uint t, uint lane, uint g, uint shift, bool byChannel) {
    switch (kind) {
    case KIND_F16: loadF16Rows(first, offset, n, t, lane); break;
    case KIND_INT8: loadQuantRows(8u, first, offset, n, t, lane, g, shift, byChannel); break;
    case KIND_INT4: loadQuantRows(4u, first, offset, n, t, lane, g, shift, byChannel); break;
    default: loadBitmapRows(first, offset, n, t, lane); break;
    }
}
void loadRows(PageEntry p, uint t, uint lane) {
    loadRowsOf(p.keyKind, 0u, p.keyOffset, p.tokens, t, lane, p.keyGroup, p.keyShift, p.keyByChannel);
    loadRowsOf(p.valueKind, U, p.valueOffset, p.tokens, t, lane, p.valueGroup, p.valueShift, p.valueByChannel);
}

#include "include/decode_main.glsl"
