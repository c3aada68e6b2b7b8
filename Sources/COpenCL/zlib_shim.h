// zlib (gzopen/gzread) for the Engine's gzip reader, exposed to Swift as the CZlib module declared beside
// COpenCL in module.modulemap. Debian: zlib1g-dev (pulled in by libpng-dev).
#ifndef HISTOGAN_ZLIB_SHIM_H
#define HISTOGAN_ZLIB_SHIM_H
#include <zlib.h>
#endif
