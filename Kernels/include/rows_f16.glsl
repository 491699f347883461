// Dense f16 rows: `[n, D]` halves. Pages of the f16 pool start 16-byte aligned (2·n·D bytes each).

void loadF16(uint slot, uint offset, uint t, uint lane) {
    uint first = (offset + 2u * (t * D + lane * E)) >> 4;
    UNROLL for (uint i = 0u; i < E / 8u; ++i) {
        uvec4 w = poolF16[first + i];
        vec2 a = unpackHalf2x16(w.x), b = unpackHalf2x16(w.y), c = unpackHalf2x16(w.z), d = unpackHalf2x16(w.w);
        row[slot * E + 8u * i + 0u] = a.x; row[slot * E + 8u * i + 1u] = a.y;
        row[slot * E + 8u * i + 2u] = b.x; row[slot * E + 8u * i + 3u] = b.y;
        row[slot * E + 8u * i + 4u] = c.x; row[slot * E + 8u * i + 5u] = c.y;
        row[slot * E + 8u * i + 6u] = d.x; row[slot * E + 8u * i + 7u] = d.y;
    }
}

/// Rows t ..< t + U (clamped to the page) into slots first ..< first + U, without branches, so
/// that all U loads are in flight together.
void loadF16Rows(uint first, uint offset, uint n, uint t, uint lane) {
    UNROLL for (uint u = 0u; u < U; ++u) loadF16(first + u, offset, min(t + u, n - 1u), lane);
}
