// json_io.hpp: JSON answers, request bodies, paths and queries for the HTTP routes.
#pragma once

#include "http/server.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host {

// JSON text with numbers as people write them (6.5, not 6.5E0).
std::string to_json_text(const boost::json::value& v);

http::response json_response(const http::request& req, http::bhttp::status status,
                             const boost::json::value& body);

// {"error": message}
http::response error_response(const http::request& req, http::bhttp::status status,
                              std::string_view message);

// {"error": message, "fields": [{"field", "message"}...]}
http::response field_errors_response(const http::request& req, std::string_view message,
                                     const boost::json::array& fields);

bool iequals_prefix(std::string_view text, std::string_view prefix);

// The body as JSON; nullopt with a one-line reason when it is empty or not JSON.
std::optional<boost::json::value> parse_body(const http::request& req, std::string& error);

// The path split at '/', each segment percent-decoded; nullopt when a segment is malformed.
std::optional<std::vector<std::string>> split_path(std::string_view path);

// The first value of a query parameter, percent-decoded.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

// A JSON number, or null.
boost::json::value optional_number(const std::optional<double>& v);

}  // namespace tributary::host
