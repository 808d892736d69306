// email.hpp: the one normalisation of email addresses that matching relies on.
#pragma once

#include <string>
#include <string_view>

namespace tributary {

// The white space trimmed from addresses and refused inside them.
constexpr bool is_email_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Trims ASCII white space and folds ASCII letters to lower case. Addresses are matched on this
// form everywhere: in connectors, in the host's End User table and in the unmatched queue.
inline std::string normalize_email(std::string_view raw) {
    while (!raw.empty() && is_email_space(raw.front())) {
        raw.remove_prefix(1);
    }
    while (!raw.empty() && is_email_space(raw.back())) {
        raw.remove_suffix(1);
    }

    std::string out(raw);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// A cheap plausibility check: one '@' with something on both sides and no white space.
inline bool plausible_email(std::string_view email) {
    auto at = email.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= email.size()) {
        return false;
    }
    if (email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (char c : email) {
        if (is_email_space(c)) {
            return false;
        }
    }
    return true;
}

}  // namespace tributary
