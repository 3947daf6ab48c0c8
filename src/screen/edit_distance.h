// Edit distance between short words, shared by candidate retrieval and the scorer so both
// count a typo the same way.
#pragma once

#include <string>

namespace custodian::screen {

// Optimal-string-alignment distance (Levenshtein plus transposition of adjacent letters, so
// "huawie" is one edit from "huawei"), giving up once it exceeds `limit` (then returns
// limit + 1). Words of 64 bytes or more are compared for equality only.
int EditDistance(const std::string& a, const std::string& b, int limit);

}  // namespace custodian::screen
