// upfirdn2d kernels
