// Precompiled header of the core: <torch/torch.h> costs ~30 s per translation unit otherwise.
#pragma once
#include <torch/torch.h>
