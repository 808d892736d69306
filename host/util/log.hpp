// log.hpp: one structured line per event, as text key=value or as JSON lines.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tributary::host::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

struct field {
    field(std::string_view k, std::string_view v) : key(k), value(v) {}
    field(std::string_view k, const std::string& v) : key(k), value(v) {}
    field(std::string_view k, const char* v) : key(k), value(v) {}
    field(std::string_view k, std::int64_t v) : key(k), value(std::to_string(v)) {}
    field(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
    field(std::string_view k, unsigned v) : key(k), value(std::to_string(v)) {}
    field(std::string_view k, std::uint64_t v) : key(k), value(std::to_string(v)) {}
    field(std::string_view k, double v) : key(k), value(std::to_string(v)) {}

    std::string key;
    std::string value;
};

struct options {
    level min_level = level::info;
    bool json = false;
};

void configure(const options& o);
bool enabled(level l);

// Callers never pass secrets, webhook keys or URLs, or personal data.
void write(level l, std::string_view message, std::initializer_list<field> fields = {});
void write(level l, std::string_view message, const field* fields, std::size_t count);

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
    write(level::error, m, f);
}

// Where lines go (stderr by default); tests capture them.
using sink_fn = void (*)(std::string_view line, void* user);
void set_sink(sink_fn sink, void* user);

}  // namespace tributary::host::log
