// The OpenCL C sources of every kernel family, compiled into the binary (C23 #embed), so a copied
// executable needs no side files.
#ifndef HISTOGAN_KERNELS_H
#define HISTOGAN_KERNELS_H

/// Source text of the kernel family `name` (the basename of its .cl file, e.g. "gemm"), NUL-terminated,
/// or NULL when no such family exists.
const char *hg_kernel_source(const char *name);

/// Number of kernel families and the name of the i-th one (for listings and cache keys).
int hg_kernel_family_count(void);
const char *hg_kernel_family_name(int index);

#endif
