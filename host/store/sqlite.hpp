// sqlite.hpp: a thin RAII layer over the SQLite C API with a prepared-statement cache.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tributary::host::sqlite {

class error : public std::runtime_error {
public:
    error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

// A prepared statement; reset and cleared bindings each time it is taken from the cache.
class statement {
public:
    statement(sqlite3* db, std::string_view sql);
    ~statement();
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int index, std::int64_t value);
    statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    statement& bind(int index, double value);
    statement& bind(int index, std::string_view value);
    statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    statement& bind(int index, const std::string& value) {
        return bind(index, std::string_view(value));
    }
    statement& bind_null(int index);
    template <class T>
    statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    // true while a row is available.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    void reset();

    bool is_null(int column) const;
    std::int64_t int64(int column) const;
    double real(int column) const;
    std::string_view text(int column) const;
    std::string string(int column) const { return std::string(text(column)); }
    std::optional<std::string> opt_string(int column) const;
    std::optional<std::int64_t> opt_int64(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class database {
public:
    // vfs: the name of a registered SQLite VFS, or nullptr for the default one.
    explicit database(const std::filesystem::path& file, bool read_only = false,
                      const char* vfs = nullptr);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    void exec(std::string_view sql);
    // A cached statement, reset and ready for binding.
    statement& prepare(std::string_view sql);

    // Resets every statement still stepping, so that no read snapshot outlives its transaction.
    void reset_busy();

    std::int64_t last_insert_rowid() const;
    int changes() const;
    sqlite3* handle() const { return db_; }

private:
    // Looked up by the SQL text as a string_view: no string is built for a lookup.
    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, std::unique_ptr<statement>, text_hash, std::equal_to<>> cache_;
};

}  // namespace tributary::host::sqlite
