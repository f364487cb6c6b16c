// The evaluation report for people and scripts: a terminal summary, report.json (protobuf's JSON
// mapping, field names as in rpc/hearth/v1/report.proto) and SVG figures: the confusion matrix,
// ROC and precision-recall curves and the reliability diagram for classification, the residual
// plot for regression.
#pragma once

#include <string>
#include <vector>

#include "hearth/env.h"
#include "hearth/status.h"
#include "hearth/v1/report.pb.h"

namespace hearth::run {

// report.json's text: every field present (a precision of 0 too), indented or on one line.
std::string ReportJson(const v1::EvaluationReport& report, bool indent = true);

// The summary `hearth eval` prints: metrics, then (classification) the per-class table and, for
// up to 20 classes, the confusion matrix; the notes last.
std::string FormatReport(const v1::EvaluationReport& report);

// The figures as (file name, SVG text): confusion_matrix.svg, roc.svg, pr.svg, reliability.svg
// for classification (the curves only when the report has them), residuals.svg for regression.
std::vector<std::pair<std::string, std::string>> RenderReportFigures(
    const v1::EvaluationReport& report);

// Writes report.json and the figures into `dir` (created if missing), each atomically; returns
// the paths written.
StatusOr<std::vector<std::string>> WriteReportFiles(const v1::EvaluationReport& report,
                                                    const std::string& dir,
                                                    Env& env = Env::Default());

}  // namespace hearth::run
