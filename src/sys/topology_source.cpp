#include "sys/topology_source.h"
