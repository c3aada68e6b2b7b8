// layout kernels
