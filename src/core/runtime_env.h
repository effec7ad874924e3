// The runtime environment of a placed rank: OpenMP thread count and binding for the chosen
// runtime. Values the user already set are kept, with a warning when they differ from the plan.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/options.h"
#include "core/planner.h"

namespace xeonplace {

// The thread-count variables of the pools other than OpenMP that users set by hand for numpy,
// scipy, TensorFlow and tokenizers: each gets the rank's thread count under
// XEONRUN_THREAD_POOLS=all (issue #15).
inline constexpr const char* kThreadPoolVariables[] = {
    "MKL_NUM_THREADS",         // Intel oneMKL (numpy/scipy/torch built with MKL)
    "OPENBLAS_NUM_THREADS",    // OpenBLAS (Debian's and the wheels' numpy/scipy)
    "GOTO_NUM_THREADS",        // OpenBLAS's GotoBLAS-era name, still read
    "BLIS_NUM_THREADS",        // BLIS / AMD AOCL-BLIS
    "VECLIB_MAXIMUM_THREADS",  // Apple Accelerate, for scripts shared with macOS
    "NUMEXPR_NUM_THREADS",     // numexpr (pandas' eval)
    "NUMBA_NUM_THREADS",       // numba's parallel target
    "TF_NUM_INTRAOP_THREADS",  // TensorFlow's intra-op pool
    "RAYON_NUM_THREADS",       // Rust rayon (Hugging Face tokenizers, polars)
};

// Variables the plan wants for this rank (before looking at what the user already set).
std::vector<EnvVar> planned_runtime_env(const RankPlacement& rank, const Config& config);

// What to actually export: planned values, minus those the user set (kept, with a warning in
// `warnings` naming the variable, the user's value and the planned one).
std::vector<EnvVar> merge_with_user_env(const std::vector<EnvVar>& planned, const EnvMap& current,
                                        std::vector<std::string>& warnings);

}  // namespace xeonplace
