// The whole single-process API in one include: tensors, ops, autograd, layers, losses, optimizers.
#pragma once

#include "hearth/autograd.h"
#include "hearth/blas.h"
#include "hearth/loss.h"
#include "hearth/nn.h"
#include "hearth/ops.h"
#include "hearth/optim.h"
#include "hearth/random.h"
#include "hearth/schedule.h"
#include "hearth/status.h"
#include "hearth/tensor.h"
