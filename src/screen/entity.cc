#include "screen/entity.h"

#include <algorithm>
#include <cctype>

namespace custodian::screen {

const char* SchemaName(Schema schema) {
  switch (schema) {
    case Schema::kOrganization:
      return "org";
    case Schema::kPerson:
      return "person";
    case Schema::kVessel:
      return "vessel";
    case Schema::kAircraft:
      return "aircraft";
    case Schema::kUnknown:
      break;
  }
  return "unknown";
}

Result<Schema> ParseSchema(std::string_view word) {
  std::string w;
  for (char c : word) {
    if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(c));
  }
  if (w.empty() || w == "unknown" || w == "thing") return Schema::kUnknown;
  static const char* const kOrg[] = {"org",         "organization", "organisation", "company",
                                     "legalentity", "entity",       "business",     "corporation"};
  static const char* const kPerson[] = {"person", "individual", "people", "human"};
  if (std::find(std::begin(kOrg), std::end(kOrg), w) != std::end(kOrg)) {
    return Schema::kOrganization;
  }
  if (std::find(std::begin(kPerson), std::end(kPerson), w) != std::end(kPerson)) {
    return Schema::kPerson;
  }
  if (w == "vessel" || w == "ship") return Schema::kVessel;
  if (w == "aircraft" || w == "airplane") return Schema::kAircraft;
  return Status::InvalidInput("type: must be org, person, vessel or aircraft, got \"" +
                              std::string(word) + "\"");
}

std::string RowIssue::ToString() const {
  std::string s = file + ":" + std::to_string(line) + ": ";
  if (!field.empty()) s += field + ": ";
  return s + problem;
}

}  // namespace custodian::screen
