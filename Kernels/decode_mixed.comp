#version 450
// Decode attention over pages of any encodings, mixed within a head (ARKV tiers) and across
// keys and values: a switch per page on the entry's kinds (uniform within a token group).
#include "include/decode_bindings.glsl"
#include "include/rows_f16.glsl"
#include "include/rows_quant.glsl"
#include "include/rows_bitmap.glsl"

void loadRow(uint slot, uint kind, uint offset, uint n, uint t, uint lane, uint g, uint shift, bool byChannel) {
    switch (kind) {
    case KIND_F16: loadF16(slot, offset, t, lane); break;
    case KIND_INT8: loadInt8(slot, offset, n, t, lane, g, shift, byChannel); break;
    case KIND_INT4: loadInt4(slot, offset, n, t, lane, g, shift, byChannel); break;
    default: loadBitmap(slot, offset, n, t, lane); break;
    }
}
void loadKeys(uint slot, PageEntry p, uint t, uint lane) { loadRow(slot, p.keyKind, p.keyOffset, p.tokens, t, lane, p.keyGroup, p.keyShift, p.keyByChannel); }
void loadValues(uint slot, PageEntry p, uint t, uint lane) { loadRow(slot, p.valueKind, p.valueOffset, p.tokens, t, lane, p.valueGroup, p.valueShift, p.valueByChannel); }

#include "include/decode_main.glsl"
