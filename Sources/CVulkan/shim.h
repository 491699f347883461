#pragma once
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>

// VK_KHR_cooperative_matrix's shape query, declared here because Debian 12's Vulkan headers
// (1.3.239) predate it (1.3.255): `VkCooperativeMatrixPropertiesKHR` with its enums as 32-bit
// words (VkComponentTypeKHR: 0 f16, 1 f32, 2 f64, 3-6 s8-s64, 7-10 u8-u64; VkScopeKHR: 1 device,
// 2 workgroup, 3 subgroup, 5 queue family), the same layout under a name of its own.
typedef struct KVPCooperativeMatrixProperties {
    VkStructureType sType;
    void *pNext;
    uint32_t MSize, NSize, KSize;
    uint32_t AType, BType, CType, ResultType;
    VkBool32 saturatingAccumulation;
    uint32_t scope;
} KVPCooperativeMatrixProperties;
typedef VkResult (VKAPI_PTR *KVPGetCooperativeMatrixProperties)(VkPhysicalDevice physicalDevice, uint32_t *count,
                                                                 KVPCooperativeMatrixProperties *properties);
static const VkStructureType KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES = (VkStructureType)1000506001;

// VK_KHR_cooperative_matrix's feature and properties structs (Vulkan 1.3.255), under names of
// their own for the same reason: `VkPhysicalDeviceCooperativeMatrixFeaturesKHR` (chained into
// vkGetPhysicalDeviceFeatures2 to ask, into VkDeviceCreateInfo to enable) and
// `VkPhysicalDeviceCooperativeMatrixPropertiesKHR` (the shader stages that may use them).
typedef struct KVPCooperativeMatrixFeatures {
    VkStructureType sType;
    void *pNext;
    VkBool32 cooperativeMatrix;
    VkBool32 cooperativeMatrixRobustBufferAccess;
} KVPCooperativeMatrixFeatures;
typedef struct KVPCooperativeMatrixDeviceProperties {
    VkStructureType sType;
    void *pNext;
    VkShaderStageFlags cooperativeMatrixSupportedStages;
} KVPCooperativeMatrixDeviceProperties;
static const VkStructureType KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FEATURES = (VkStructureType)1000506000;
static const VkStructureType KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_DEVICE_PROPERTIES = (VkStructureType)1000506002;
