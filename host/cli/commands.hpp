// commands.hpp: the subcommands and the small option parser they share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tributary::host::cli {

int serve(const std::vector<std::string>& args);
int rekey(const std::vector<std::string>& args);

std::filesystem::path default_plugin_dir();
std::filesystem::path default_manifest_dir();

// Prints the message to stderr and returns the usage exit code (2).
int usage_error(const std::string& message);

// HOST:PORT, with [v6]:PORT; false when malformed.
bool split_listen(const std::string& text, std::string& host, std::uint16_t& port);

// Walks "--name value" and "--name=value" options.
class option_reader {
public:
    explicit option_reader(const std::vector<std::string>& args) : args_(args) {}

    bool next();
    bool is(const char* name) const { return name_ == name; }
    const std::string& name() const { return name_; }
    // The option's value; marks the reader failed when there is none.
    std::string value();
    bool failed() const { return failed_; }
    // A word that is not an option (for positional arguments).
    bool positional() const { return positional_; }

private:
    const std::vector<std::string>& args_;
    std::size_t at_ = 0;
    std::string name_;
    std::string inline_value_;
    bool has_inline_ = false;
    bool failed_ = false;
    bool positional_ = false;
};

}  // namespace tributary::host::cli
