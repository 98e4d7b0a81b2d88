#ifndef ROOST_CHIREDIS_SHIM_H
#define ROOST_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
