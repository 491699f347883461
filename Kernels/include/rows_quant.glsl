// int8 / int4 rows, dequantized in registers: codes `[n, D]` (int4: two per byte, element 2i in the
// low nibble), then per group an f16 scale and an f16 zero point (one u32: scale low, zero high).
// Groups are `[n, D / g]` along tokens or `[ceil(n / g), D]` along channels. value = code·scale + zero.

uint quantGroup(uint t, uint c, uint g, bool byChannel) {
    return byChannel ? (t / g) * D + c : t * (D / g) + c / g;
}

void dequantize(uint slot, uint paramsWord, uint e, uint code) {
    vec2 sz = unpackHalf2x16(paramsWord);
    row[slot * E + e] = float(code) * sz.x + sz.y;
}

void loadInt8(uint slot, uint offset, uint n, uint t, uint lane, uint g, bool byChannel) {
    uint first = (offset + t * D + lane * E) >> 2;
    uint params = (offset + n * D) >> 2;
    bool oneGroup = !byChannel && g % E == 0u;
    uint p = poolInt8[params + quantGroup(t, lane * E, g, byChannel)];
    UNROLL for (uint i = 0u; i < E / 4u; ++i) {
        uint w = poolInt8[first + i];
        UNROLL for (uint j = 0u; j < 4u; ++j) {
            uint e = 4u * i + j;
            uint pw = oneGroup ? p : poolInt8[params + quantGroup(t, lane * E + e, g, byChannel)];
            dequantize(slot, pw, e, (w >> (8u * j)) & 0xFFu);
        }
    }
}

void loadInt4(uint slot, uint offset, uint n, uint t, uint lane, uint g, bool byChannel) {
    uint first = (offset + (t * D + lane * E) / 2u) >> 2;
    uint params = (offset + n * D / 2u) >> 2;
    bool oneGroup = !byChannel && g % E == 0u;
    uint p = poolInt4[params + quantGroup(t, lane * E, g, byChannel)];
    UNROLL for (uint i = 0u; i < E / 8u; ++i) {
        uint w = poolInt4[first + i];
        UNROLL for (uint j = 0u; j < 8u; ++j) {
            uint e = 8u * i + j;
            uint pw = oneGroup ? p : poolInt4[params + quantGroup(t, lane * E + e, g, byChannel)];
            dequantize(slot, pw, e, (w >> (4u * j)) & 0xFu);
        }
    }
}
