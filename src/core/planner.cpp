// implementation pending
#include "core/planner.h"
