#pragma once
#include <hdf5.h>

// HDF5 exposes its predefined types and default ids as macros that call H5open(); Swift cannot
// import those, so each gets a tiny inline function here.
static inline hid_t CHDF5_P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t CHDF5_S_ALL(void) { return H5S_ALL; }
static inline hid_t CHDF5_E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t CHDF5_P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t CHDF5_P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline unsigned CHDF5_F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned CHDF5_F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned CHDF5_F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline hid_t CHDF5_T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t CHDF5_T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t CHDF5_T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t CHDF5_T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t CHDF5_T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t CHDF5_T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t CHDF5_T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t CHDF5_T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t CHDF5_T_C_S1(void) { return H5T_C_S1; }
static inline size_t CHDF5_T_VARIABLE(void) { return H5T_VARIABLE; }

// Silences HDF5's own error-stack printing; KVPack reports typed errors instead.
static inline void CHDF5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
