#version 450
// Decode attention over int8 / int4 pages (any mix of the two, token or channel groups),
// dequantized in registers.
#include "include/decode_bindings.glsl"
#include "include/rows_quant.glsl"

void loadRowsOf(uint kind, uint first, uint offset, uint n, uint t, uint lane, uint g, uint shift, bool byChannel) {
    if (kind == KIND_INT8) loadQuantRows(8u, first, offset, n, t, lane, g, shift, byChannel);
    else loadQuantRows(4u, first, offset, n, t, lane, g, shift, byChannel);
}
void loadRows(PageEntry p, uint t, uint lane) {
    loadRowsOf(p.keyKind, 0u, p.keyOffset, p.tokens, t, lane, p.keyGroup, p.keyShift, p.keyByChannel);
    loadRowsOf(p.valueKind, U, p.valueOffset, p.tokens, t, lane, p.valueGroup, p.valueShift, p.valueByChannel);
}

#include "include/decode_main.glsl"
