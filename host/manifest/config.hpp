// config.hpp: configuration field specs and validation of tenant config against them.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host {

// One configuration field or action parameter, as a manifest declares it.
struct field_spec {
    std::string key, type, label, help;
    bool required = false;
    bool secret = false;
    std::optional<std::string> pattern;
    std::optional<boost::json::value> default_value;
    // `pattern` compiled once when the manifest is read; when unset (a spec built in code),
    // validation compiles it on each call.
    std::shared_ptr<const std::regex> compiled_pattern;
};

// The field types a manifest may declare.
inline constexpr std::string_view field_types[] = {"string", "integer", "boolean", "url", "date"};
bool is_field_type(std::string_view type);

// The longest string, url or date value accepted; it also bounds the input of pattern matching,
// whose recursion grows with the input's length.
inline constexpr std::size_t max_value_chars = 2048;

// Compiles a field pattern as an ECMAScript regex; throws std::regex_error when it is invalid.
std::shared_ptr<const std::regex> compile_pattern(const std::string& pattern);

// Checks one value against a field's type and pattern. On success returns the value as it is
// stored (strings trimmed of surrounding whitespace, whole numbers as integers); otherwise
// nullopt and sets `error` to the message. Never includes the value in the message.
std::optional<boost::json::value> check_field_value(const field_spec& field,
                                                    const boost::json::value& value,
                                                    std::string& error);

struct field_error {
    std::string field;
    std::string message;
};

struct config_result {
    boost::json::object config;
    std::vector<field_error> errors;
    bool ok() const { return errors.empty(); }
};

// Validates input against fields and answers the config to store, keys in field order, or an
// error per field. Messages name no value, secret or not:
//   "unknown field", "is required", "expected a string", "expected an integer",
//   "expected true or false", "expected an http:// or https:// URL with a host",
//   "expected a date like 2024-03-05 or 2024-03-05T09:12:44Z",
//   "must be at most 2048 characters", "must match <pattern>".
// Null and empty (after trimming) strings count as absent; an absent field takes its default.
// With `previous` (a PATCH), keys missing from input keep their previous value and a null in
// input clears the field; previous keys no field describes are dropped.
config_result validate_config(const std::vector<field_spec>& fields,
                              const boost::json::object& input,
                              const boost::json::object* previous = nullptr);

// The config for display: each secret value replaced by "••••" plus its last 4 characters, or
// "••••" alone when it is shorter than 12 characters or not a string. Keys no field describes
// are masked entirely, since nothing says they are not secret.
boost::json::object mask_secrets(const std::vector<field_spec>& fields,
                                 const boost::json::object& config);

}  // namespace tributary::host
