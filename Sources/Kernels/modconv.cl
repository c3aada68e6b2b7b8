// modconv kernels
