/* httpc: see httpc.h (being written). */
#include "httpc.h"
