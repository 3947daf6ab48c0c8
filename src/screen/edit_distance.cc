#include "screen/edit_distance.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace custodian::screen {

int EditDistance(const std::string& a, const std::string& b, int limit) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  if (std::abs(n - m) > limit) return limit + 1;
  if (n == 0 || m == 0) return std::max(n, m);
  constexpr int kMax = 64;
  if (n >= kMax || m >= kMax) return a == b ? 0 : limit + 1;
  // Three rows, rotated by pointer (copying them was most of the cost for short words).
  std::array<int, kMax> rows[3];
  int* prev2 = rows[0].data();
  int* prev = rows[1].data();
  int* cur = rows[2].data();
  for (int j = 0; j <= m; ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > limit) return limit + 1;
    int* oldest = prev2;
    prev2 = prev;
    prev = cur;
    cur = oldest;
  }
  return prev[m];
}

}  // namespace custodian::screen
