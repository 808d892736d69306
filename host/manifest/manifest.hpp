// manifest.hpp: App Center manifests: what a connector declares, read and checked from YAML.
#pragma once

#include "manifest/config.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host {

struct webhook_spec {
    std::string route;  // "" is the default route /hooks/<connector>/<key>
    std::string method = "POST";
    std::string description;
};

struct action_spec {
    std::string id, name, description;
    std::vector<field_spec> params;
};

struct manifest {
    std::filesystem::path file;  // where it was read from
    std::string id, name, version, publisher, description, library, sync;
    int abi_major = 0, abi_minor = 0;
    std::optional<std::string> checksum;  // lowercase hex SHA-256, without "sha256:"
    std::vector<field_spec> config;
    std::vector<webhook_spec> webhooks;
    std::vector<action_spec> actions;
    std::vector<std::string> hooks;

    const action_spec* find_action(std::string_view id) const;
    const webhook_spec* find_webhook(std::string_view route) const;
    const field_spec* find_field(std::string_view key) const;

    // The catalog entry, camelCase: id, name, version, publisher, description, sync,
    // abi "MAJOR.MINOR", config[] {key, type, label, help, required, secret, pattern, default},
    // webhooks[] {route, method, description}, actions[] {id, name, description, params[]},
    // hooks[]. Absent patterns and defaults are null.
    boost::json::object to_json() const;
};

// One sentence naming the file, the field and what was expected.
class manifest_error : public std::runtime_error {
public:
    using runtime_error::runtime_error;
};

// Reads and checks a manifest file; throws manifest_error, e.g.
// "manifests/x.yaml: field 'version': expected a semantic version like 1.2.3, got 'abc'".
manifest load_manifest(const std::filesystem::path& file);

// The same for text already read; file_for_messages names it in errors and in manifest::file.
manifest parse_manifest(std::string_view yaml_text, const std::filesystem::path& file_for_messages);

struct catalog_load {
    std::vector<manifest> manifests;
    std::vector<std::string> errors;
};

// Every *.yaml and *.yml file directly in dir, in file name order; a file that fails (or whose id
// an earlier file took) becomes one line in errors and the rest still load. Throws
// manifest_error when the directory itself cannot be read.
catalog_load load_manifest_dir(const std::filesystem::path& dir);

}  // namespace tributary::host
