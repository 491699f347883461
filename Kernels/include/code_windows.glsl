// The int8 / int4 pool windows read 8 or 16 bytes at a time (raw-code kernels: rows_codes.glsl,
// coopmat_codes.glsl). Before including: CODE_BINDING (the pool's binding, 3 or 4).

/// Words per code load (1, 2 or 4): the host picks the widest that the layer's page offsets are
/// aligned to.
layout(constant_id = 9) const uint LOAD_WORDS = 1;
// The same pool windows read 8 or 16 bytes at a time.
layout(std430, binding = CODE_BINDING) readonly buffer CodePairs { uvec2 words[]; } codePairWindows[POOL_WINDOWS];
layout(std430, binding = CODE_BINDING) readonly buffer CodeQuads { uvec4 words[]; } codeQuadWindows[POOL_WINDOWS];
