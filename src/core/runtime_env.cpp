// implementation pending
#include "core/runtime_env.h"
