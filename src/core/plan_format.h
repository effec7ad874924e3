// A plan as a person reads it (a table) and as a program reads it (design.md §4).
#pragma once

#include <string>

#include "core/planner.h"

namespace xeonplace {

// A header row, one row per rank (CPUs and memory nodes as lists such as "0-3"), then the plan's
// warnings, one "warning: " line each; ends with a newline.
std::string format_plan_table(const Plan& plan);
// One JSON document on one line, ending with a newline:
// {"nranks": N, "ranks": [{"rank": 0, "cpus": [0,1], "mems": [0], "omp_threads": 2, "env": {...},
//             "warnings": [...]}], "warnings": [...]}
std::string format_plan_json(const Plan& plan);

}  // namespace xeonplace
