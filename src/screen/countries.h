// Country names -> ISO 3166-1 alpha-2, for list files that write countries as words.
//
// Built from ICU's English (and a few other locales') display names for every ISO region,
// plus the spellings lists use that ICU does not ("Russia", "Burma", "UAE", "Korea, North",
// "Hong Kong SAR" …). Matching ignores case, punctuation and a leading "the".
// Thread-safety: the table is built once (thread-safe static) and read-only afterwards.
#pragma once

#include <string>
#include <string_view>

namespace custodian::screen {

// "CN" for "China", "People's Republic of China", "cn"; "" when unknown. A two-letter code
// that is an ISO region is returned upper-cased; so is XK (Kosovo, the user-assigned code
// CLDR and the sanctions lists use). Alpha-3 codes count in capitals only ("CHN"; "can" is a
// word). Names in French, German, Spanish, Portuguese, Italian, Dutch, Russian, Chinese and
// Arabic (ICU's display names) are accepted after the English ones.
std::string CountryCode(std::string_view name_or_code);

// English display name for an alpha-2 code ("China"), or the code itself when unknown.
std::string CountryName(std::string_view alpha2);

}  // namespace custodian::screen
