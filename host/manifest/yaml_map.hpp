// yaml_map.hpp: one YAML map of a manifest, read with errors that name the file and the field.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::host::detail {

// How a node reads in a message: "null", "a list", "a map" or the quoted, shortened scalar.
std::string describe(const YAML::Node& node);

// A scalar quoted for a message: at most 60 characters, control characters replaced.
std::string quote_text(std::string_view text);

// A YAML 1.2 boolean (true, True, TRUE, false, False, FALSE), or nullopt.
std::optional<bool> parse_bool(std::string_view text);

// A map whose keys are checked on construction: plain scalars, each once, each one of `allowed`.
// Every failure throws manifest_error "<file>: field '<path>': <what>".
class yaml_map {
public:
    yaml_map(const YAML::Node& node, std::string file, std::string path,
             std::string_view expectation, std::initializer_list<std::string_view> allowed);

    const std::string& file() const { return file_; }

    // The dotted path of a key of this map, e.g. "config[0].key".
    std::string path_of(std::string_view key) const;

    // Whether key is given, null or not.
    bool has(std::string_view key) const;

    // The value of key, or nullopt when it is missing or null.
    std::optional<YAML::Node> find(std::string_view key) const;

    // A scalar's text; a missing, null or non-scalar value fails with the expectation.
    std::string required_text(std::string_view key, std::string_view expectation) const;
    std::optional<std::string> optional_text(std::string_view key,
                                             std::string_view expectation) const;

    // true or false (YAML 1.2 spellings); fallback when missing.
    bool flag(std::string_view key, bool fallback) const;

    // The items of a list; empty when missing or null.
    std::vector<YAML::Node> list(std::string_view key, std::string_view expectation) const;

    [[noreturn]] void fail(std::string_view key, std::string_view what) const;
    [[noreturn]] void fail_got(std::string_view key, std::string_view expectation,
                               const YAML::Node& got) const;

private:
    // Fails about this map itself; the top level has no field to name.
    [[noreturn]] void fail_here(std::string_view what) const;

    std::string file_;
    std::string path_;
    std::vector<std::pair<std::string, YAML::Node>> entries_;
};

// Fails with "<file>: field '<path>': <what>".
[[noreturn]] void fail_at(const std::string& file, const std::string& path, std::string_view what);

}  // namespace tributary::host::detail
