// json.hpp: JSON access that tolerates missing fields and wrong types.
#pragma once

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::json {

namespace bj = boost::json;

// The value at a path of object keys, or nullptr when any step is missing or not an object.
inline const bj::value* find(const bj::value& root, std::initializer_list<std::string_view> path) {
    const bj::value* at = &root;
    for (auto key : path) {
        const auto* obj = at->if_object();
        if (obj == nullptr) {
            return nullptr;
        }
        auto it = obj->find(key);
        if (it == obj->end()) {
            return nullptr;
        }
        at = &it->value();
    }
    return at;
}

// A string at path; nullopt when missing or not a string.
inline std::optional<std::string_view> string_at(const bj::value& root,
                                                 std::initializer_list<std::string_view> path) {
    const auto* v = find(root, path);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    const auto& s = v->get_string();
    return std::string_view(s.data(), s.size());
}

// An integral number, also from a whole double (10.0) or a numeric string ("10").
inline std::optional<std::int64_t> as_integer(const bj::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64()) {
        auto u = v.get_uint64();
        if (u > static_cast<std::uint64_t>(INT64_MAX)) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(u);
    }
    if (v.is_double()) {
        double d = v.get_double();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
            return static_cast<std::int64_t>(d);
        }
        return std::nullopt;
    }
    if (v.is_string()) {
        const auto& s = v.get_string();
        if (s.empty() || s.size() > 18) {
            return std::nullopt;
        }
        std::int64_t out = 0;
        std::size_t i = 0;
        bool negative = s[0] == '-';
        if (negative) {
            i = 1;
        }
        if (i == s.size()) {
            return std::nullopt;
        }
        for (; i < s.size(); ++i) {
            if (s[i] < '0' || s[i] > '9') {
                return std::nullopt;
            }
            out = out * 10 + (s[i] - '0');
        }
        return negative ? -out : out;
    }
    return std::nullopt;
}

inline std::optional<std::int64_t> integer_at(const bj::value& root,
                                              std::initializer_list<std::string_view> path) {
    const auto* v = find(root, path);
    if (v == nullptr) {
        return std::nullopt;
    }
    return as_integer(*v);
}

// true/false, or nullopt when missing or not a bool.
inline std::optional<bool> bool_at(const bj::value& root,
                                   std::initializer_list<std::string_view> path) {
    const auto* v = find(root, path);
    if (v == nullptr || !v->is_bool()) {
        return std::nullopt;
    }
    return v->get_bool();
}

// Parses text; nullopt with the reason in `error` when it is not JSON.
inline std::optional<bj::value> parse(std::string_view text, std::string* error = nullptr) {
    boost::system::error_code ec;
    bj::value v = bj::parse(text, ec);
    if (ec) {
        if (error != nullptr) {
            *error = ec.message();
        }
        return std::nullopt;
    }
    return v;
}

}  // namespace tributary::json
