// command.cpp: parsing, help and connection options shared by the admin subcommands.
#include "cli/command.hpp"

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace tributary::host::cli {

const std::vector<option_spec> connection_options = {
    {"--url", "URL", "the host's address (default TRIBUTARY_URL, else http://127.0.0.1:8080)"},
    {"--token", "TOKEN", "admin or tenant token (default TRIBUTARY_ADMIN_TOKEN)"},
    {"--token-file", "FILE", "read the token from FILE (default ./data/admin-token)"},
    {"--json", "", "print the host's JSON answer instead of text"},
    {"--help", "", "this text"},
};

const option_spec tenant_option = {"--tenant", "TENANT", "the tenant (default TRIBUTARY_TENANT)"};

namespace {

std::string trimmed_first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.pop_back();
    }
    return line;
}

std::optional<std::string> read_token_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto token = trimmed_first_line(text.str());
    return token.empty() ? std::nullopt : std::optional<std::string>(token);
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

void print_options(std::ostream& out, const std::vector<option_spec>& options) {
    for (const auto& o : options) {
        std::string left = "  " + std::string(o.name);
        if (!o.value_name.empty()) {
            left += " " + std::string(o.value_name);
        }
        out << std::left << std::setw(26) << left << " " << o.help << "\n";
    }
}

std::string verb_usage(const area_spec& area, const verb_spec& verb) {
    std::string usage = "usage: tributary " + std::string(area.name);
    if (!verb.name.empty()) {
        usage += " " + std::string(verb.name);
    }
    if (!verb.args.empty()) {
        usage += " " + std::string(verb.args);
    }
    return usage + " [options]";
}

void print_verb_help(const area_spec& area, const verb_spec& verb) {
    std::cout << verb_usage(area, verb) << "\n\n" << verb.summary << "\n";
    if (!verb.options.empty()) {
        std::cout << "\noptions:\n";
        print_options(std::cout, verb.options);
    }
    std::cout << "\nconnection:\n";
    print_options(std::cout, connection_options);
}

void print_area_help(const area_spec& area) {
    std::cout << "usage: tributary " << area.name << " <command> [options]\n\n"
              << area.summary << "\n\ncommands:\n";
    for (const auto& v : area.verbs) {
        std::cout << "  " << std::left << std::setw(14) << v.name << " "
                  << v.summary.substr(0, v.summary.find('\n')) << "\n";
    }
    std::cout << "\nEvery command takes --help.\n";
}

const option_spec* find_option(const verb_spec& verb, std::string_view name) {
    for (const auto* list : {&verb.options, &connection_options}) {
        for (const auto& o : *list) {
            if (o.name == name) {
                return &o;
            }
        }
    }
    return nullptr;
}

int usage(const std::string& where, const std::string& message) {
    std::cerr << "tributary: " << where << ": " << message << " (see tributary " << where
              << " --help)\n";
    return exit_usage;
}

// Fills inv from args; returns an exit code to stop with, or nullopt to run the verb.
std::optional<int> parse(const area_spec& area, const verb_spec& verb,
                         const std::vector<std::string>& args, invocation& inv) {
    std::string where =
        std::string(area.name) + (verb.name.empty() ? "" : " ") + std::string(verb.name);
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (options_done || word == "-" || !word.starts_with("-")) {
            inv.words.push_back(word);
            continue;
        }
        if (word == "--") {
            options_done = true;
            continue;
        }
        if (word == "-h" || word == "--help") {
            print_verb_help(area, verb);
            return exit_ok;
        }
        auto eq = word.find('=');
        std::string name = word.substr(0, eq);
        const auto* spec = find_option(verb, name);
        if (spec == nullptr) {
            return usage(where, "unknown option " + name);
        }
        if (spec->value_name.empty()) {
            if (eq != std::string::npos) {
                return usage(where, name + " takes no value");
            }
            inv.values[name].emplace_back();
        } else if (eq != std::string::npos) {
            inv.values[name].push_back(word.substr(eq + 1));
        } else if (i + 1 < args.size()) {
            inv.values[name].push_back(args[++i]);
        } else {
            return usage(where, name + " needs a value");
        }
    }
    if (inv.words.size() < verb.min_words || inv.words.size() > verb.max_words) {
        return usage(
            where, verb.args.empty() ? "takes no arguments" : "expected " + std::string(verb.args));
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> invocation::get(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) {
        return std::nullopt;
    }
    return it->second.back();
}

std::vector<std::string> invocation::all(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() ? std::vector<std::string>{} : it->second;
}

std::string invocation::url() const {
    std::string url = get("--url").value_or(env("TRIBUTARY_URL"));
    if (url.empty()) {
        url = "http://127.0.0.1:8080";
    }
    while (url.ends_with('/')) {
        url.pop_back();
    }
    return url;
}

std::optional<std::string> invocation::token(std::string& error) const {
    if (auto t = get("--token"); t && !t->empty()) {
        return t;
    }
    if (auto file = get("--token-file")) {
        auto t = read_token_file(*file);
        if (!t) {
            error = "cannot read a token from " + *file;
        }
        return t;
    }
    if (auto t = env("TRIBUTARY_ADMIN_TOKEN"); !t.empty()) {
        return t;
    }
    if (auto t = read_token_file("data/admin-token")) {
        return t;
    }
    error = "no token: give --token or --token-file, or set TRIBUTARY_ADMIN_TOKEN";
    return std::nullopt;
}

std::optional<std::string> invocation::tenant() const {
    if (auto t = get("--tenant"); t && !t->empty()) {
        return t;
    }
    auto t = env("TRIBUTARY_TENANT");
    return t.empty() ? std::nullopt : std::optional<std::string>(t);
}

int run_area(const area_spec& area, const std::vector<std::string>& args) {
    const verb_spec* verb = nullptr;
    std::vector<std::string> rest = args;
    if (area.verbs.size() == 1 && area.verbs[0].name.empty()) {
        verb = &area.verbs[0];
    } else {
        if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
            print_area_help(area);
            return args.empty() ? exit_usage : exit_ok;
        }
        for (const auto& v : area.verbs) {
            if (v.name == args[0]) {
                verb = &v;
            }
        }
        if (verb == nullptr) {
            std::cerr << "tributary: " << area.name << ": unknown command '" << args[0]
                      << "' (see tributary " << area.name << " --help)\n";
            return exit_usage;
        }
        rest.erase(rest.begin());
    }

    invocation inv;
    if (auto stop = parse(area, *verb, rest, inv)) {
        return *stop;
    }
    return verb->run(inv);
}

std::vector<const area_spec*> admin_areas() {
    return {&tenant_area(), &token_area(),     &company_area(),      &enduser_area(),
            &nps_area(),    &connector_area(), &installation_area(), &action_area(),
            &job_area(),    &audit_area(),     &health_area()};
}

}  // namespace tributary::host::cli
