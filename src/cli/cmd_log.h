// custodian log witness | verify | get — the transparency log's witness and auditor.
#pragma once

#include <CLI/CLI.hpp>

namespace custodian::cli {

void AddLogCommands(CLI::App& app);  // log witness, log verify, log get

}  // namespace custodian::cli
