// libpng (simplified API) and libjpeg-turbo (TurboJPEG API) for the Engine's image I/O. Exposed to
// Swift as the CImageCodecs module declared beside COpenCL in module.modulemap.
#ifndef HISTOGAN_CODECS_H
#define HISTOGAN_CODECS_H
#include <png.h>
#include <turbojpeg.h>
#endif
