// command.hpp: admin subcommands: their declarations, parsing, help and the connection options.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host::cli {

// Exit codes of the admin subcommands.
inline constexpr int exit_ok = 0;
inline constexpr int exit_refused = 1;      // the host refused or failed the request
inline constexpr int exit_usage = 2;        // the command line is wrong
inline constexpr int exit_unreachable = 3;  // no answer from the host
inline constexpr int exit_interrupted = 130;

struct option_spec {
    std::string_view name;        // "--name"
    std::string_view value_name;  // "NAME"; empty for a flag
    std::string_view help;
};

// One parsed command line: positional words and option values, as given.
class invocation {
public:
    std::vector<std::string> words;
    std::map<std::string, std::vector<std::string>, std::less<>> values;

    bool has(std::string_view name) const { return values.count(name) > 0; }
    // The last value given for the option.
    std::optional<std::string> get(std::string_view name) const;
    std::vector<std::string> all(std::string_view name) const;
    bool json() const { return has("--json"); }

    // --url, else TRIBUTARY_URL, else http://127.0.0.1:8080, without a trailing slash.
    std::string url() const;
    // --token, --token-file, TRIBUTARY_ADMIN_TOKEN, then ./data/admin-token; the reason in
    // `error` when none of them gives one.
    std::optional<std::string> token(std::string& error) const;
    // --tenant, else TRIBUTARY_TENANT.
    std::optional<std::string> tenant() const;
};

struct verb_spec {
    std::string_view name;  // "" for an area that is a single command
    std::string_view args;  // the positional words, e.g. "ID"
    std::string_view summary;
    std::vector<option_spec> options;
    std::size_t min_words = 0;
    std::size_t max_words = 0;
    std::function<int(const invocation&)> run;
};

struct area_spec {
    std::string_view name;
    std::string_view summary;
    std::vector<verb_spec> verbs;
};

// Options every admin subcommand takes.
extern const std::vector<option_spec> connection_options;
// --tenant TENANT (or TRIBUTARY_TENANT).
extern const option_spec tenant_option;

// Parses args (after the area name) against the area's verbs and runs the chosen one.
int run_area(const area_spec& area, const std::vector<std::string>& args);

// The areas, each defined in its own file.
const area_spec& tenant_area();
const area_spec& token_area();
const area_spec& audit_area();
const area_spec& company_area();
const area_spec& enduser_area();
const area_spec& nps_area();
const area_spec& connector_area();
const area_spec& installation_area();
const area_spec& job_area();
const area_spec& action_area();
const area_spec& health_area();

std::vector<const area_spec*> admin_areas();

}  // namespace tributary::host::cli
