// implementation pending
#include "core/cpuset.h"
