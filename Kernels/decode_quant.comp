#version 450
// Decode attention over int8 / int4 pages (any mix of the two, token or channel groups),
// dequantized in registers.
#include "include/decode_bindings.glsl"
#include "include/rows_quant.glsl"

void loadRow(uint slot, uint kind, uint offset, uint n, uint t, uint lane, uint g, uint shift, bool byChannel) {
    if (kind == KIND_INT8) loadInt8(slot, offset, n, t, lane, g, shift, byChannel);
    else loadInt4(slot, offset, n, t, lane, g, shift, byChannel);
}
void loadKeys(uint slot, PageEntry p, uint t, uint lane) { loadRow(slot, p.keyKind, p.keyOffset, p.tokens, t, lane, p.keyGroup, p.keyShift, p.keyByChannel); }
void loadValues(uint slot, PageEntry p, uint t, uint lane) { loadRow(slot, p.valueKind, p.valueOffset, p.tokens, t, lane, p.valueGroup, p.valueShift, p.valueByChannel); }

#include "include/decode_main.glsl"
