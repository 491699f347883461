#pragma once
// OpenBLAS's CBLAS interface (Debian: libopenblas-dev; pkg-config `openblas` puts the variant's
// include directory, e.g. openblas-pthread, on the path). openblas_get_num_threads and
// openblas_set_num_threads come with it.
#include <cblas.h>
