#version 450
// Decode attention over int4 pages whose groups run along tokens and cover each lane's slice
// (raw codes dequantized at use: include/rows_codes.glsl). Other int4 layouts run on decode_quant.
// KVP_F16MATH (the _f16math build): q·k and the value sums in packed f16 arithmetic; KVP_INTDOT
// (the _f16math_intdot build): q·k as packed 8-bit integer dot products instead.
#include "include/decode_bindings.glsl"

#define BITS 4u
#define CODE_POOL poolInt4
#define CODE_BINDING 4
#include "include/rows_codes.glsl"

#include "include/decode_main.glsl"
