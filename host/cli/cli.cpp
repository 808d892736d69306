// cli.cpp: dispatch of tributary's subcommands, and their shared helpers.
#include "cli/cli.hpp"

#include "cli/command.hpp"
#include "cli/commands.hpp"

#include <unistd.h>
#include <iostream>

namespace tributary::host::cli {

namespace {

constexpr const char* main_help = R"(usage: tributary <command> [<subcommand>] [options]

commands:
  serve         run the host (tributary serve --help)
  tenant        create, list and show tenants
  token         tenant-scoped tokens: create, list, revoke
  company       upload companies; a company's NPS
  enduser       upload End Users; show one
  nps           company, portfolio and unmatched NPS
  connector     the catalog: list, reload, install a manifest
  installation  a tenant's installations: create, list, enable, disable, configure,
                delete, rotate-key
  action        run a connector action as a job, with live progress
  job           get, list, watch and cancel jobs
  audit         the audit log of admin changes
  health        is the host up and ready
  rekey         seal stored secrets under a new secrets key (host stopped)
  help          this text

Every command takes --help. The admin commands talk to the host at --url (default
TRIBUTARY_URL, else http://127.0.0.1:8080) with --token, --token-file or
TRIBUTARY_ADMIN_TOKEN; they print text, or the host's JSON with --json.
Exit codes: 0 done, 1 refused or failed, 2 wrong usage, 3 host unreachable, 130 interrupted.
)";

std::filesystem::path executable_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::current_path() : exe.parent_path();
}

}  // namespace

std::filesystem::path default_plugin_dir() {
    auto dir = executable_dir();
    for (auto candidate : {dir / ".." / "plugins", dir / ".." / "lib" / "tributary" / "plugins"}) {
        std::error_code ec;
        if (std::filesystem::is_directory(candidate, ec)) {
            return std::filesystem::weakly_canonical(candidate);
        }
    }
    return dir / ".." / "plugins";
}

std::filesystem::path default_manifest_dir() {
    std::error_code ec;
    auto installed = executable_dir() / ".." / "share" / "tributary" / "manifests";
    if (std::filesystem::is_directory(installed, ec)) {
        return std::filesystem::weakly_canonical(installed);
    }
    return TRIBUTARY_SOURCE_MANIFEST_DIR;
}

int usage_error(const std::string& message) {
    std::cerr << "tributary: " << message << "\n";
    return 2;
}

bool split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size()) {
        return false;
    }
    host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
        return false;
    }
    long p = 0;
    for (char c : text.substr(colon + 1)) {
        if (c < '0' || c > '9') {
            return false;
        }
        p = p * 10 + (c - '0');
        if (p > 65535) {
            return false;
        }
    }
    port = static_cast<std::uint16_t>(p);
    return true;
}

bool option_reader::next() {
    if (at_ >= args_.size()) {
        return false;
    }
    const std::string& word = args_[at_++];
    positional_ = !word.starts_with("-");
    has_inline_ = false;
    auto eq = word.find('=');
    if (!positional_ && eq != std::string::npos) {
        name_ = word.substr(0, eq);
        inline_value_ = word.substr(eq + 1);
        has_inline_ = true;
    } else {
        name_ = word;
    }
    return true;
}

std::string option_reader::value() {
    if (has_inline_) {
        return inline_value_;
    }
    if (at_ >= args_.size()) {
        failed_ = true;
        return {};
    }
    return args_[at_++];
}

int run(const std::string&, const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::cout << main_help;
        return args.empty() ? 2 : 0;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "serve") {
        return serve(rest);
    }
    if (args[0] == "rekey") {
        return rekey(rest);
    }
    for (const auto* area : admin_areas()) {
        if (area->name == args[0]) {
            return run_area(*area, rest);
        }
    }
    return usage_error("unknown command '" + args[0] + "' (see tributary help)");
}

}  // namespace tributary::host::cli
