#version 450
// Decode attention over int4 pages on cooperative matrices (tensor cores): decode_f16_coopmat.comp's
// walk and tile products (include/coopmat_tiles.glsl, include/coopmat_steps.glsl), with each step's
// 16 key and 16 value rows loaded as raw codes in 16-byte words and dequantized (code·scale + zero)
// into the same f16 stage (include/coopmat_codes.glsl). Pages whose token groups cover a 16-byte
// code word (g >= 32, a power of two); the host refuses other layouts. KVP_COOPMAT: the build
// compiles it once, with a glslang that has GL_KHR_cooperative_matrix (Kernels/README.md), with
// -DKVP_SUBGROUP=1.

#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "include/decode_bindings.glsl"
#include "include/coopmat_tiles.glsl"

#define BITS 4u
#define CODE_POOL poolInt4
#define CODE_BINDING 4
#include "include/coopmat_codes.glsl"

#include "include/coopmat_steps.glsl"
