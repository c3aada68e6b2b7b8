// bias_act kernels
