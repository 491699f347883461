// int8 / int4 rows, dequantized in registers: codes `[n, D]` (int4: two per byte, element 2i in the
// low nibble), then per group an f16 scale and an f16 zero point (one u32: scale low, zero high).
// Groups are `[n, D / g]` along tokens or `[ceil(n / g), D]` along channels. value = code·scale + zero.
//
// Costs kept off the hot path: group indices use shifts when the group size is a power of two
// (`PageEntry.keyShift`), codes become floats with the 2^23 trick instead of a conversion
// instruction, a lane whose slice lies in one token group reads one parameter word per row, and
// the branch on the grouping is taken once for U rows so that their loads are in flight together.

uint divGroup(uint x, uint g, uint shift) { return shift < 32u ? x >> shift : x / g; }

/// Word i of the int8 (bits 8) or int4 (bits 4) pool.
uint quantWord(uint bits, uint i) { return bits == 8u ? poolInt8[i] : poolInt4[i]; }

/// Rows t0 ..< t0 + U (clamped to the page) of an int8 (bits 8) or int4 (bits 4) page into slots
/// firstSlot ..< firstSlot + U of `row`. Callers pass `bits` as a constant, so each call folds to
/// one encoding's loads and shifts.
void loadQuantRows(uint bits, uint firstSlot, uint offset, uint n, uint t0, uint lane, uint g, uint shift, bool byChannel) {
    uint perWord = 32u / bits, mask = (1u << bits) - 1u;
    uint params = (offset + n * D * bits / 8u) >> 2;
    if (byChannel) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) * bits / 8u) >> 2;
            uint base = params + divGroup(t, g, shift) * D + lane * E;
            UNROLL for (uint i = 0u; i < E / perWord; ++i) {
                uint w = quantWord(bits, first + i);
                UNROLL for (uint j = 0u; j < perWord; ++j) {
                    vec2 sz = unpackHalf2x16(quantWord(bits, base + perWord * i + j));
                    row[slot * E + perWord * i + j] = fma(codeToFloat((w >> (bits * j)) & mask), sz.x, sz.y);
                }
            }
        }
    } else if (divGroup(lane * E, g, shift) == divGroup(lane * E + E - 1u, g, shift)) {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) * bits / 8u) >> 2;
            vec2 sz = unpackHalf2x16(quantWord(bits, params + t * divGroup(D, g, shift) + divGroup(lane * E, g, shift)));
            UNROLL for (uint i = 0u; i < E / perWord; ++i) {
                uint w = quantWord(bits, first + i);
                UNROLL for (uint j = 0u; j < perWord; ++j)
                    row[slot * E + perWord * i + j] = fma(codeToFloat((w >> (bits * j)) & mask), sz.x, sz.y);
            }
        }
    } else {
        UNROLL for (uint u = 0u; u < U; ++u) {
            uint slot = firstSlot + u, t = min(t0 + u, n - 1u);
            uint first = (offset + (t * D + lane * E) * bits / 8u) >> 2;
            uint base = params + t * divGroup(D, g, shift);
            UNROLL for (uint i = 0u; i < E / perWord; ++i) {
                uint w = quantWord(bits, first + i);
                UNROLL for (uint j = 0u; j < perWord; ++j) {
                    vec2 sz = unpackHalf2x16(quantWord(bits, base + divGroup(lane * E + perWord * i + j, g, shift)));
                    row[slot * E + perWord * i + j] = fma(codeToFloat((w >> (bits * j)) & mask), sz.x, sz.y);
                }
            }
        }
    }
}

