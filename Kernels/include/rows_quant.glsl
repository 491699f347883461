// int8 / int4 rows, dequantized in registers: codes `[n, D]` (int4: two per byte, element 2i in the
// low nibble), then per group an f16 scale and an f16 zero point (one u32: scale low, zero high).
// Groups are `[n, D / g]` along tokens or `[ceil(n / g), D]` along channels. value = code·scale + zero.
//
// Costs kept off the hot path: group indices use shifts when the group size is a power of two
// (`PageEntry.keyShift`), codes become floats with the 2^23 trick instead of a conversion
// instruction, a lane whose slice lies in one token group reads one parameter word per row, and
// the branch on the grouping is taken once for U rows so that their loads are in flight together.

uint divGroup(uint x, uint g, uint shift) { return shift < 32u ? x >> shift : x / g; }

float codeToFloat(uint code) { return uintBitsToFloat(0x4B000000u | code) - 8388608.0; }

void loadInt8Rows(uint firstSlot, uint offset, uint n, uint t0, uint lane, uint g, uint shift, bool byChannel) {
    uint params = (offset + n * D) >> 2;
    if (byChannel) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + t * D + lane * E) >> 2;
            uint base = params + divGroup(t, g, shift) * D + lane * E;
            UNROLL for (uint i = 0u; i < E / 4u; ++i) {
                uint w = poolInt8[first + i];
                UNROLL for (uint j = 0u; j < 4u; ++j) {
                    vec2 sz = unpackHalf2x16(poolInt8[base + 4u * i + j]);
                    row[slot * E + 4u * i + j] = fma(codeToFloat((w >> (8u * j)) & 0xFFu), sz.x, sz.y);
                }
            }
        }
    } else if (divGroup(lane * E, g, shift) == divGroup(lane * E + E - 1u, g, shift)) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + t * D + lane * E) >> 2;
            vec2 sz = unpackHalf2x16(poolInt8[params + t * divGroup(D, g, shift) + divGroup(lane * E, g, shift)]);
            UNROLL for (uint i = 0u; i < E / 4u; ++i) {
                uint w = poolInt8[first + i];
                UNROLL for (uint j = 0u; j < 4u; ++j)
                    row[slot * E + 4u * i + j] = fma(codeToFloat((w >> (8u * j)) & 0xFFu), sz.x, sz.y);
            }
        }
    } else {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + t * D + lane * E) >> 2;
            uint base = params + t * divGroup(D, g, shift);
            UNROLL for (uint i = 0u; i < E / 4u; ++i) {
                uint w = poolInt8[first + i];
                UNROLL for (uint j = 0u; j < 4u; ++j) {
                    vec2 sz = unpackHalf2x16(poolInt8[base + divGroup(lane * E + 4u * i + j, g, shift)]);
                    row[slot * E + 4u * i + j] = fma(codeToFloat((w >> (8u * j)) & 0xFFu), sz.x, sz.y);
                }
            }
        }
    }
}

void loadInt4Rows(uint firstSlot, uint offset, uint n, uint t0, uint lane, uint g, uint shift, bool byChannel) {
    uint params = (offset + n * D / 2u) >> 2;
    if (byChannel) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) / 2u) >> 2;
            uint base = params + divGroup(t, g, shift) * D + lane * E;
            UNROLL for (uint i = 0u; i < E / 8u; ++i) {
                uint w = poolInt4[first + i];
                UNROLL for (uint j = 0u; j < 8u; ++j) {
                    vec2 sz = unpackHalf2x16(poolInt4[base + 8u * i + j]);
                    row[slot * E + 8u * i + j] = fma(codeToFloat((w >> (4u * j)) & 0xFu), sz.x, sz.y);
                }
            }
        }
    } else if (divGroup(lane * E, g, shift) == divGroup(lane * E + E - 1u, g, shift)) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) / 2u) >> 2;
            vec2 sz = unpackHalf2x16(poolInt4[params + t * divGroup(D, g, shift) + divGroup(lane * E, g, shift)]);
            UNROLL for (uint i = 0u; i < E / 8u; ++i) {
                uint w = poolInt4[first + i];
                UNROLL for (uint j = 0u; j < 8u; ++j)
                    row[slot * E + 8u * i + j] = fma(codeToFloat((w >> (4u * j)) & 0xFu), sz.x, sz.y);
            }
        }
    } else {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) / 2u) >> 2;
            uint base = params + t * divGroup(D, g, shift);
            UNROLL for (uint i = 0u; i < E / 8u; ++i) {
                uint w = poolInt4[first + i];
                UNROLL for (uint j = 0u; j < 8u; ++j) {
                    vec2 sz = unpackHalf2x16(poolInt4[base + divGroup(lane * E + 8u * i + j, g, shift)]);
                    row[slot * E + 8u * i + j] = fma(codeToFloat((w >> (4u * j)) & 0xFu), sz.x, sz.y);
                }
            }
        }
    }
}
