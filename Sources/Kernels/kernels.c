// Embeds each Sources/Kernels/*.cl file as a NUL-terminated string. Add one line per new family.
#include <string.h>
#include "Kernels.h"

#define FAMILY(name) static const char src_##name[] = {
#define END , 0 };

FAMILY(gemm)
#embed "gemm.cl"
END
FAMILY(conv2d)
#embed "conv2d.cl"
END
FAMILY(modconv)
#embed "modconv.cl"
END
FAMILY(upfirdn2d)
#embed "upfirdn2d.cl"
END
FAMILY(bias_act)
#embed "bias_act.cl"
END
FAMILY(elementwise)
#embed "elementwise.cl"
END
FAMILY(reduce)
#embed "reduce.cl"
END
FAMILY(layout)
#embed "layout.cl"
END
FAMILY(random)
#embed "random.cl"
END
FAMILY(optimizer)
#embed "optimizer.cl"
END
FAMILY(strided_index)
#embed "strided_index.cl"
END
FAMILY(histogram)
#embed "histogram.cl"
END
FAMILY(batch_norm)
#embed "batch_norm.cl"
END
FAMILY(log_softmax)
#embed "log_softmax.cl"
END
FAMILY(minibatch_stddev)
#embed "minibatch_stddev.cl"
END
FAMILY(winograd)
#embed "winograd.cl"
END
FAMILY(tf32)
#embed "tf32.cl"
END

static const struct { const char *name; const char *source; } families[] = {
    {"gemm", src_gemm}, {"conv2d", src_conv2d}, {"modconv", src_modconv},
    {"upfirdn2d", src_upfirdn2d}, {"bias_act", src_bias_act}, {"elementwise", src_elementwise},
    {"reduce", src_reduce}, {"layout", src_layout}, {"random", src_random},
    {"optimizer", src_optimizer}, {"strided_index", src_strided_index}, {"histogram", src_histogram},
    {"batch_norm", src_batch_norm}, {"log_softmax", src_log_softmax}, {"winograd", src_winograd},
    {"tf32", src_tf32}, {"minibatch_stddev", src_minibatch_stddev},
};

const char *hg_kernel_source(const char *name) {
    for (unsigned i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].name, name) == 0) return families[i].source;
    return NULL;
}

int hg_kernel_family_count(void) { return (int)(sizeof families / sizeof families[0]); }

const char *hg_kernel_family_name(int index) {
    if (index < 0 || index >= hg_kernel_family_count()) return NULL;
    return families[index].name;
}
