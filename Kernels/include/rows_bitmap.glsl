// Bitmap rows (Mustafar's format): per row D/64 u64 masks (bit b of mask w marks element 64w + b),
// then per row the u32 index of its first nonzero, then the nonzeros as f16 in row order. A lane
// counts the nonzeros before its slice with popcounts and reads only its own nonzeros.
// Pages of the bitmap pool are only 2-byte aligned (2 bytes per nonzero), so reads go through
// `bitmapU32` / `bitmapU16`, which take any even byte offset.

uint bitmapU32(uint byteOffset) {
    uint i = byteOffset >> 2;
    return (byteOffset & 2u) == 0u ? poolBitmap[i] : (poolBitmap[i] >> 16) | (poolBitmap[i + 1u] << 16);
}

float bitmapHalf(uint byteOffset) {
    uint w = poolBitmap[byteOffset >> 2];
    return unpackHalf2x16((byteOffset & 2u) == 0u ? w : w >> 16).x;
}

void loadBitmap(uint slot, uint offset, uint n, uint t, uint lane) {
    const uint halves = D / 32u; // 32-bit halves of a row's masks
    uint masks = offset + 8u * t * (D / 64u);
    uint start = lane * E;
    uint before = bitmapU32(offset + 8u * n * (D / 64u) + 4u * t);
    UNROLL for (uint h = 0u; h < halves; ++h) {
        if (32u * h < start) {
            uint m = bitmapU32(masks + 4u * h);
            uint below = start - 32u * h;
            before += bitCount(below >= 32u ? m : m & ((1u << below) - 1u));
        }
    }
    uint values = offset + n * (8u * (D / 64u) + 4u) + 2u * before;
    UNROLL for (uint chunk = 0u; chunk < (E + 31u) / 32u; ++chunk) {
        uint c0 = start + 32u * chunk;
        uint m = bitmapU32(masks + 4u * (c0 / 32u));
        if (E < 32u) m = (m >> (c0 % 32u)) & ((1u << (E % 32u)) - 1u);
        UNROLL for (uint j = 0u; j < min(E, 32u); ++j) {
            uint e = 32u * chunk + j;
            bool on = ((m >> j) & 1u) != 0u;
            row[slot * E + e] = on ? bitmapHalf(values) : 0.0;
            values += on ? 2u : 0u;
        }
    }
}

/// Rows t ..< t + U (clamped to the page) into slots first ..< first + U.
void loadBitmapRows(uint first, uint offset, uint n, uint t, uint lane) {
    UNROLL for (uint u = 0u; u < U; ++u) loadBitmap(first + u, offset, n, min(t + u, n - 1u), lane);
}
