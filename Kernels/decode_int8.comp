#version 450
// Decode attention over int8 pages whose groups run along tokens and cover each lane's slice
// (raw codes dequantized at use: include/rows_codes.glsl). Other int8 layouts run on decode_quant.
// KVP_F16MATH (the _f16math build): q·k and the value sums in packed f16 arithmetic.
#if KVP_F16MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#include "include/decode_bindings.glsl"

#define BITS 8u
#define CODE_POOL poolInt8
#include "include/rows_codes.glsl"

#include "include/decode_main.glsl"
