// The module is its header (`roost_prefetch` is inline); a C target needs one source file.
#include "roost_memory.h"
