#version 450
// Tests only: include/stage_probe.glsl over bitmap pages (CoopmatStageTests runs it on lavapipe).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define KVP_SUBGROUP 0
#include "include/decode_bindings.glsl"
#define BITMAP_PROBE 1
#include "include/stage_probe.glsl"
