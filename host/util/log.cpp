// log.cpp: formatting and writing of log lines.
#include "util/log.hpp"

#include "util/time.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace tributary::host::log {

namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};
std::atomic<bool> as_json{false};
std::mutex sink_mutex;
sink_fn current_sink = nullptr;
void* sink_user = nullptr;

const char* name_of(level l) {
    switch (l) {
        case level::debug:
            return "debug";
        case level::info:
            return "info";
        case level::warn:
            return "warn";
        case level::error:
            return "error";
    }
    return "info";
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) {
        return true;
    }
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            return true;
        }
    }
    return false;
}

void append_quoted(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += ' ';  // one event, one line
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string text_line(level l, std::string_view message, const field* fields, std::size_t n) {
    std::string line = format_time_ms(now_ms());
    line += ' ';
    line += name_of(l);
    line += ' ';
    append_quoted(line, message);
    for (std::size_t i = 0; i < n; ++i) {
        line += ' ';
        line += fields[i].key;
        line += '=';
        if (needs_quotes(fields[i].value)) {
            append_quoted(line, fields[i].value);
        } else {
            line += fields[i].value;
        }
    }
    return line;
}

std::string json_line(level l, std::string_view message, const field* fields, std::size_t n) {
    boost::json::object o;
    o["time"] = format_time_ms(now_ms());
    o["level"] = name_of(l);
    o["msg"] = message;
    for (std::size_t i = 0; i < n; ++i) {
        o[fields[i].key] = fields[i].value;
    }
    return boost::json::serialize(o);
}

}  // namespace

void configure(const options& o) {
    min_level = static_cast<int>(o.min_level);
    as_json = o.json;
}

bool enabled(level l) {
    return static_cast<int>(l) >= min_level.load();
}

void write(level l, std::string_view message, std::initializer_list<field> fields) {
    write(l, message, fields.begin(), fields.size());
}

void write(level l, std::string_view message, const field* fields, std::size_t count) {
    if (!enabled(l)) {
        return;
    }
    std::string line =
        as_json ? json_line(l, message, fields, count) : text_line(l, message, fields, count);
    std::lock_guard lock(sink_mutex);
    if (current_sink != nullptr) {
        current_sink(line, sink_user);
        return;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

void set_sink(sink_fn sink, void* user) {
    std::lock_guard lock(sink_mutex);
    current_sink = sink;
    sink_user = user;
}

}  // namespace tributary::host::log
