// yaml_map.cpp: reading manifest YAML maps strictly, with one-sentence errors.
#include "manifest/yaml_map.hpp"

#include "manifest/manifest.hpp"

#include <algorithm>
#include <numeric>

namespace tributary::host::detail {

namespace {

constexpr std::size_t quoted_max_chars = 60;

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), 0);
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The allowed key a mistyped key most likely meant, if one is close enough.
std::optional<std::string_view> closest(std::string_view key,
                                        std::initializer_list<std::string_view> allowed) {
    std::size_t limit = key.size() <= 4 ? 1 : 2;
    std::optional<std::string_view> best;
    std::size_t best_distance = limit + 1;
    for (auto candidate : allowed) {
        auto d = edit_distance(key, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

std::string unknown_key_message(std::string_view key,
                                std::initializer_list<std::string_view> allowed) {
    if (auto guess = closest(key, allowed)) {
        return "unknown field, did you mean '" + std::string(*guess) + "'?";
    }
    std::string out = "unknown field, expected one of ";
    for (auto it = allowed.begin(); it != allowed.end(); ++it) {
        out += it == allowed.begin() ? "" : ", ";
        out += *it;
    }
    return out;
}

}  // namespace

std::string quote_text(std::string_view text) {
    std::string out = "'";
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        bool starts_char = (c & 0xC0) != 0x80;
        if (starts_char && ++chars > quoted_max_chars) {
            out += "...";
            break;
        }
        out += c < 0x20 || c == 0x7F ? '?' : text[i];
    }
    return out + "'";
}

std::optional<bool> parse_bool(std::string_view text) {
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    return std::nullopt;
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Scalar:
            return quote_text(node.Scalar());
        default:
            return "null";
    }
}

void fail_at(const std::string& file, const std::string& path, std::string_view what) {
    throw manifest_error(file + ": field '" + path + "': " + std::string(what));
}

yaml_map::yaml_map(const YAML::Node& node, std::string file, std::string path,
                   std::string_view expectation, std::initializer_list<std::string_view> allowed)
    : file_(std::move(file)), path_(std::move(path)) {
    if (!node.IsMap()) {
        fail_here(std::string(expectation) + ", got " + describe(node));
    }

    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            fail_here("expected plain text keys, got " + describe(entry.first) + " as a key");
        }
        const auto& key = entry.first.Scalar();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(key, unknown_key_message(key, allowed));
        }
        if (has(key)) {
            fail(key, "appears more than once");
        }
        entries_.emplace_back(key, entry.second);
    }
}

bool yaml_map::has(std::string_view key) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const auto& e) { return e.first == key; });
}

void yaml_map::fail_here(std::string_view what) const {
    if (path_.empty()) {
        throw manifest_error(file_ + ": " + std::string(what));
    }
    fail_at(file_, path_, what);
}

std::string yaml_map::path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::optional<YAML::Node> yaml_map::find(std::string_view key) const {
    for (const auto& [k, value] : entries_) {
        if (k == key) {
            if (value.IsNull()) {
                return std::nullopt;
            }
            return value;
        }
    }
    return std::nullopt;
}

std::string yaml_map::required_text(std::string_view key, std::string_view expectation) const {
    auto node = find(key);
    if (!node) {
        fail(key, std::string(expectation) + (has(key) ? ", got null" : ", but it is missing"));
    }
    if (!node->IsScalar()) {
        fail_got(key, expectation, *node);
    }
    return node->Scalar();
}

std::optional<std::string> yaml_map::optional_text(std::string_view key,
                                                   std::string_view expectation) const {
    if (!find(key)) {
        return std::nullopt;
    }
    return required_text(key, expectation);
}

bool yaml_map::flag(std::string_view key, bool fallback) const {
    auto text = optional_text(key, "expected true or false");
    if (!text) {
        return fallback;
    }
    auto value = parse_bool(*text);
    if (!value) {
        fail(key, "expected true or false, got " + quote_text(*text));
    }
    return *value;
}

std::vector<YAML::Node> yaml_map::list(std::string_view key, std::string_view expectation) const {
    auto node = find(key);
    if (!node) {
        return {};
    }
    if (!node->IsSequence()) {
        fail_got(key, expectation, *node);
    }
    return {node->begin(), node->end()};
}

void yaml_map::fail(std::string_view key, std::string_view what) const {
    fail_at(file_, path_of(key), what);
}

void yaml_map::fail_got(std::string_view key, std::string_view expectation,
                        const YAML::Node& got) const {
    fail(key, std::string(expectation) + ", got " + describe(got));
}

}  // namespace tributary::host::detail
