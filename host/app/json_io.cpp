// json_io.cpp: JSON answers, request bodies, paths and queries for the HTTP routes.
#include "app/json_io.hpp"

#include <boost/url/pct_string_view.hpp>

#include <cmath>
#include <cstdio>

namespace tributary::host {

namespace bj = boost::json;

namespace {

void write_json(std::string& out, const bj::value& v) {
    switch (v.kind()) {
        case bj::kind::double_: {
            // Boost.JSON writes 6.5 as 6.5E0; answers read better as people write numbers.
            double d = v.get_double();
            if (!std::isfinite(d)) {
                out += "null";
                break;
            }
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.15g", d == 0.0 ? 0.0 : d);
            out += buf;
            break;
        }
        case bj::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                write_json(out, e);
            }
            out += ']';
            break;
        }
        case bj::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [k, e] : v.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                out += bj::serialize(bj::string_view(k));
                out += ':';
                write_json(out, e);
            }
            out += '}';
            break;
        }
        default:
            out += bj::serialize(v);
    }
}

}  // namespace

std::string to_json_text(const bj::value& v) {
    std::string out;
    write_json(out, v);
    return out;
}

http::response json_response(const http::request& req, http::bhttp::status status,
                             const bj::value& body) {
    return http::make_json_response(req.version(), req.keep_alive(), status, to_json_text(body));
}

http::response error_response(const http::request& req, http::bhttp::status status,
                              std::string_view message) {
    return json_response(req, status, bj::object{{"error", message}});
}

http::response field_errors_response(const http::request& req, std::string_view message,
                                     const bj::array& fields) {
    return json_response(req, http::bhttp::status::bad_request,
                         bj::object{{"error", message}, {"fields", fields}});
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        auto a = static_cast<unsigned char>(text[i]);
        auto b = static_cast<unsigned char>(prefix[i]);
        if (std::tolower(a) != std::tolower(b)) {
            return false;
        }
    }
    return true;
}

std::optional<bj::value> parse_body(const http::request& req, std::string& error) {
    if (req.body().empty()) {
        error = "the request needs a JSON body";
        return std::nullopt;
    }
    boost::system::error_code ec;
    bj::value v = bj::parse(req.body(), ec);
    if (ec) {
        error = "the body is not valid JSON";
        return std::nullopt;
    }
    return v;
}

namespace {

// Strict: a "%" not followed by two hex digits makes the whole text invalid.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    auto escaped = boost::urls::make_pct_string_view(s);
    if (!escaped) {
        return std::nullopt;
    }
    return escaped->decode(boost::urls::encoding_opts(plus_is_space));
}

}  // namespace

std::optional<std::vector<std::string>> split_path(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at < path.size()) {
        if (path[at] == '/') {
            ++at;
            continue;
        }
        auto end = path.find('/', at);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        auto decoded = percent_decode(path.substr(at, end - at), false);
        if (!decoded) {
            return std::nullopt;
        }
        parts.push_back(std::move(*decoded));
        at = end;
    }
    return parts;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
    auto q = target.find('?');
    if (q == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bj::value optional_number(const std::optional<double>& v) {
    return v ? bj::value(*v) : bj::value(nullptr);
}

}  // namespace tributary::host
