// implementation pending
#include "core/launcher.h"
