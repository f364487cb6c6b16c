// The MPI communicator the dist_mpi tests share. main.cc creates it once before RUN_ALL_TESTS
// (MPI can be initialised only once per process) and destroys it after.
//
// Every rank runs every test in the same order, so a test may call collectives freely, provided
// every rank calls the same ones: check results after the collectives, with EXPECT_* rather than
// an ASSERT_* that would leave one rank out of a later collective and hang the others.
#pragma once

#include "hearth/dist/communicator.h"

namespace hearth::dist_mpi_test {

// The job-wide communicator (MPI_COMM_WORLD). Valid while tests run.
dist::Communicator& Comm();

}  // namespace hearth::dist_mpi_test
