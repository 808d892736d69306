// installations.cpp: `tributary installation`: a tenant's connector installations.
#include "cli/api.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

const std::vector<option_spec> config_options = {
    {"--config", "FILE", "config fields as a JSON object; - reads stdin"},
    {"--set", "KEY=VALUE", "a config field as text (repeatable)"},
    {"--set-json", "KEY=JSON", "a config field as a JSON value (repeatable)"},
    {"--set-file", "KEY=FILE", "a config field read from FILE, e.g. a secret (repeatable)"},
};

std::optional<std::pair<std::string, std::string>> split_pair(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        return std::nullopt;
    }
    return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

std::optional<std::string> read_secret_file(const std::string& file) {
    std::ostringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            return std::nullopt;
        }
        text << in.rdbuf();
    }
    std::string value = text.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
        value.pop_back();
    }
    return value;
}

// One --set, --set-json or --set-file value; the reason in error when it is malformed.
std::optional<bj::value> set_value(std::string_view option, const std::string& text,
                                   std::string& error) {
    if (option == "--set") {
        return bj::value(text);
    }
    if (option == "--set-file") {
        auto value = read_secret_file(text);
        if (!value) {
            error = "cannot read " + text;
        }
        return value ? std::optional<bj::value>(bj::value(*value)) : std::nullopt;
    }
    boost::system::error_code ec;
    auto value = bj::parse(text, ec);
    if (ec) {
        error = "--set-json needs KEY=JSON, and the value is not JSON";
        return std::nullopt;
    }
    return value;
}

// The config object from --config, --set, --set-json, --set-file and --unset.
std::optional<bj::object> config_from(const invocation& inv, std::string& error) {
    bj::object config;
    if (auto file = inv.get("--config")) {
        auto v = read_json_file(*file, error);
        if (!v) {
            return std::nullopt;
        }
        if (!v->is_object()) {
            error = *file + " must hold a JSON object";
            return std::nullopt;
        }
        config = v->get_object();
    }
    for (auto option : {"--set", "--set-json", "--set-file"}) {
        for (const auto& text : inv.all(option)) {
            auto pair = split_pair(text);
            if (!pair) {
                error = std::string(option) + " needs KEY=" +
                        (std::string_view(option) == "--set-file" ? "FILE" : "VALUE");
                return std::nullopt;
            }
            auto value = set_value(option, pair->second, error);
            if (!value) {
                return std::nullopt;
            }
            config[pair->first] = *value;
        }
    }
    for (const auto& key : inv.all("--unset")) {
        config[key] = nullptr;
    }
    return config;
}

void show_installation(const bj::value& v) {
    std::cout << field_text(v, "id") << ": " << field_text(v, "connector") << " for "
              << field_text(v, "tenant") << ", "
              << (field_text(v, "enabled") == "true" ? "enabled" : "disabled") << "\n";
    const auto* o = v.if_object();
    if (o && o->contains("config")) {
        std::cout << "config:\n";
        print_object(o->at("config"), 2);
    }
    if (auto url = field_text(v, "webhookUrl"); url != "-") {
        std::cout << "webhook URL (shown this once; give it to the sender, keep it private):\n  "
                  << url << "\n";
    }
}

int installation_create(const invocation& inv) {
    auto tenant = require_tenant(inv, "installation create");
    if (!tenant) {
        return exit_usage;
    }
    auto connector = inv.get("--connector");
    if (!connector) {
        std::cerr << "tributary: installation create: needs --connector ID (see tributary "
                     "installation create --help)\n";
        return exit_usage;
    }
    std::string error;
    auto config = config_from(inv, error);
    if (!config) {
        std::cerr << "tributary: installation create: " << error << "\n";
        return exit_usage;
    }
    return request_and_show(inv, "POST", tenant_path(*tenant, "/installations"),
                            bj::value{{"connector", *connector}, {"config", *config}},
                            show_installation);
}

int installation_list(const invocation& inv) {
    auto tenant = require_tenant(inv, "installation list");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "GET", tenant_path(*tenant, "/installations"), std::nullopt, [](const bj::value& v) {
            print_table(v, {member("ID", "id"), member("CONNECTOR", "connector"),
                            member("ENABLED", "enabled"), member("CONFIG", "config"),
                            member("UPDATED", "updatedAt")});
        });
}

// PATCH of one installation with body.
int patch(const invocation& inv, std::string_view where, const bj::object& body) {
    auto tenant = require_tenant(inv, where);
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(inv, "PATCH",
                            tenant_path(*tenant, "/installations/" + segment(inv.words[0])),
                            bj::value(body), show_installation);
}

int installation_configure(const invocation& inv) {
    std::string error;
    auto config = config_from(inv, error);
    if (!config) {
        std::cerr << "tributary: installation configure: " << error << "\n";
        return exit_usage;
    }
    if (config->empty()) {
        std::cerr << "tributary: installation configure: nothing to change: give --config, "
                     "--set, --set-json, --set-file or --unset\n";
        return exit_usage;
    }
    return patch(inv, "installation configure", bj::object{{"config", *config}});
}

int installation_delete(const invocation& inv) {
    auto tenant = require_tenant(inv, "installation delete");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "DELETE", tenant_path(*tenant, "/installations/" + segment(inv.words[0])),
        std::nullopt, [&](const bj::value&) {
            std::cout << "deleted installation " << inv.words[0] << "; its records are kept\n";
        });
}

int installation_rotate_key(const invocation& inv) {
    auto tenant = require_tenant(inv, "installation rotate-key");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "POST",
        tenant_path(*tenant, "/installations/" + segment(inv.words[0]) + "/webhook-key"),
        std::nullopt, [](const bj::value& v) {
            std::cout << "new webhook URL (shown this once):\n  " << field_text(v, "webhookUrl")
                      << "\nthe previous URL keeps working until "
                      << field_text(v, "previousKeyValidUntil") << "\n";
        });
}

std::vector<option_spec> with_tenant(std::vector<option_spec> options) {
    options.insert(options.begin(), tenant_option);
    return options;
}

std::vector<option_spec> create_options() {
    auto options = with_tenant(config_options);
    options.insert(options.begin() + 1,
                   {"--connector", "ID", "the connector to install (see connector list)"});
    return options;
}

std::vector<option_spec> configure_options() {
    auto options = with_tenant(config_options);
    options.push_back({"--unset", "KEY", "clear a config field (repeatable)"});
    return options;
}

}  // namespace

const area_spec& installation_area() {
    static const area_spec area{
        "installation",
        "A tenant's installations of connectors: config, secrets, enabled flag, webhook URL.",
        {{"create", "",
          "Installs a connector for the tenant after checking its config field by field, and\n"
          "prints the webhook URL, which is shown this once.",
          create_options(), 0, 0, installation_create},
         {"list",
          "",
          "Lists the tenant's installations; secrets masked.",
          {tenant_option},
          0,
          0,
          installation_list},
         {"enable",
          "ID",
          "Enables an installation: its webhook URL answers again.",
          {tenant_option},
          1,
          1,
          [](const invocation& inv) {
              return patch(inv, "installation enable", bj::object{{"enabled", true}});
          }},
         {"disable",
          "ID",
          "Disables an installation: webhooks answer 404 and its jobs stop; data is kept.",
          {tenant_option},
          1,
          1,
          [](const invocation& inv) {
              return patch(inv, "installation disable", bj::object{{"enabled", false}});
          }},
         {"configure", "ID",
          "Changes config fields; fields not given keep their values, --unset clears one.",
          configure_options(), 1, 1, installation_configure},
         {"delete",
          "ID",
          "Uninstalls; the records it brought in are kept.",
          {tenant_option},
          1,
          1,
          installation_delete},
         {"rotate-key",
          "ID",
          "Gives the installation a new webhook URL; the previous one keeps working for the\n"
          "host's grace period.",
          {tenant_option},
          1,
          1,
          installation_rotate_key}}};
    return area;
}

}  // namespace tributary::host::cli
