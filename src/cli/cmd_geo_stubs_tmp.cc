// TEMPORARY: replaced by cmd_geo_eval.cc and cmd_geo_map.cc.
#include "cli/command.h"
namespace custodian::cli {
void AddGeoEvalCommand(CLI::App*) {}
void AddGeoMapCommand(CLI::App*) {}
}  // namespace custodian::cli
