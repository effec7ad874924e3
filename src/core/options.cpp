// implementation pending
#include "core/options.h"
