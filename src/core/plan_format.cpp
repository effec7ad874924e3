// implementation pending
#include "core/plan_format.h"
