// Start-up agreement between ranks: the same model everywhere, then rank 0's state everywhere.
#pragma once

#include <string>

#include "hearth/dist/communicator.h"
#include "hearth/nn.h"
#include "hearth/status.h"

namespace hearth::dist {

// "name:[d0,d1];" for every parameter, in order: what two ranks must agree on.
std::string DescribeParameters(const ParameterSet& params);

// Allgathers a hash of DescribeParameters(). On a mismatch every rank returns the same
// FailedPrecondition naming each differing rank and its first parameter that differs from rank
// 0's (name and shape, or a missing/extra parameter).
Status CheckSameModel(Communicator& comm, const ParameterSet& params);

}  // namespace hearth::dist
