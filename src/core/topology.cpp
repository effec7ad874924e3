// implementation pending
#include "core/topology.h"
