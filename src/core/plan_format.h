// A plan as a person reads it (a table) and as a program reads it (DESIGN §5 JSON).
#pragma once

#include <string>

#include "core/planner.h"

namespace xeonplace {

std::string format_plan_table(const Plan& plan);
// {"ranks": [{"rank": 0, "cpus": [0,1], "mems": [0], "omp_threads": 2, "env": {...},
//             "warnings": [...]}], "warnings": [...]}
std::string format_plan_json(const Plan& plan);

}  // namespace xeonplace
