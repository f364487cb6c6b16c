// Data loading and preprocessing: one include for the readers (CSV, IDX, .npy) and the
// Preprocessor pipeline whose fitted statistics travel with a checkpoint.
#pragma once

#include "hearth/data/csv.h"
#include "hearth/data/dataset.h"
#include "hearth/data/idx.h"
#include "hearth/data/npy.h"
#include "hearth/data/preprocess.h"
