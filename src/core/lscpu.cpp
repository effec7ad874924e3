// implementation pending
#include "core/lscpu.h"
