#version 450
// Decode attention over bitmap pages (Mustafar's format) on cooperative matrices (tensor cores):
// decode_f16_coopmat.comp's walk and tile products (include/coopmat_tiles.glsl,
// include/coopmat_steps.glsl), with each step's 16 key and 16 value rows loaded as their masks,
// first indices and one contiguous run of nonzeros in aligned 16-byte words, and expanded into the
// same f16 stage (include/coopmat_bitmap.glsl). Every page of the layer is bitmap for keys and
// values (KernelChoice.coopmatPagesRefusal). KVP_COOPMAT: the build compiles it once, with a
// glslang that has GL_KHR_cooperative_matrix (Kernels/README.md), with -DKVP_SUBGROUP=1.

#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "include/decode_bindings.glsl"
#include "include/coopmat_tiles.glsl"

// The masks and first indices of the matrix being expanded: the subgroup's 16x16 fp32 scratch
// (256 words, at most D/2 + 16 = 144 used), free between a step's products.
#define HEADER_WORD(w) scratch[gl_SubgroupID * 64u + ((w) >> 2)][(w) & 3u]
#include "include/coopmat_bitmap.glsl"

#include "include/coopmat_steps.glsl"
