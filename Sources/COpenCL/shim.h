// OpenCL 1.2 API surface: the widest common subset of NVIDIA, AMD, Intel and PoCL drivers.
#ifndef HISTOGAN_COPENCL_SHIM_H
#define HISTOGAN_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
