// manifest.cpp: reading App Center manifests from YAML and checking every field strictly.
#include "manifest/manifest.hpp"

#include "manifest/yaml_map.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

namespace tributary::host {

namespace bj = boost::json;
namespace fs = std::filesystem;
using detail::fail_at;
using detail::quote_text;
using detail::yaml_map;

namespace {

constexpr std::uintmax_t max_manifest_bytes = 1024 * 1024;

constexpr std::string_view expect_id = "expected an id matching [a-z0-9][a-z0-9-]{0,62}";
constexpr std::string_view expect_name = "expected a display name";
constexpr std::string_view expect_description = "expected a description";
constexpr std::string_view expect_fields = "expected a list of fields";

const std::regex& id_regex() {
    static const std::regex r("[a-z0-9][a-z0-9-]{0,62}");
    return r;
}

const std::regex& semver_regex() {
    static const std::regex r(
        "(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
        "(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?");
    return r;
}

const std::regex& abi_regex() {
    static const std::regex r("(0|[1-9][0-9]{0,3})\\.(0|[1-9][0-9]{0,3})");
    return r;
}

const std::regex& key_regex() {
    static const std::regex r("[A-Za-z][A-Za-z0-9_]*");
    return r;
}

const std::regex& route_regex() {
    static const std::regex r("[a-z0-9/-]+");
    return r;
}

const std::regex& checksum_regex() {
    static const std::regex r("sha256:[0-9A-Fa-f]{64}");
    return r;
}

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

// A required scalar that must match a regex.
std::string matching_text(const yaml_map& map, std::string_view key, const std::regex& regex,
                          std::string_view expectation) {
    auto text = map.required_text(key, expectation);
    if (!std::regex_match(text, regex)) {
        map.fail(key, std::string(expectation) + ", got " + quote_text(text));
    }
    return text;
}

// A required scalar that must not be empty.
std::string non_empty_text(const yaml_map& map, std::string_view key,
                           std::string_view expectation) {
    auto text = map.required_text(key, expectation);
    if (text.empty()) {
        map.fail(key, std::string(expectation) + ", got ''");
    }
    return text;
}

// A scalar list item, e.g. one of hooks[].
std::string item_text(const YAML::Node& node, const std::string& file, const std::string& path,
                      std::string_view expectation) {
    if (!node.IsScalar()) {
        fail_at(file, path, std::string(expectation) + ", got " + detail::describe(node));
    }
    return node.Scalar();
}

bool is_relative_library(const std::string& text) {
    if (text.empty() || text.find('\0') != std::string::npos || text.back() == '/') {
        return false;
    }
    fs::path path(text);
    return path.is_relative() && std::none_of(path.begin(), path.end(),
                                              [](const fs::path& part) { return part == ".."; });
}

// What libstdc++'s regex_error codes mean, in words that do not depend on its messages.
std::string regex_problem(const std::regex_error& e) {
    namespace rc = std::regex_constants;
    switch (e.code()) {
        case rc::error_brack:
            return "unbalanced brackets";
        case rc::error_paren:
            return "unbalanced parentheses";
        case rc::error_brace:
            return "unbalanced braces";
        case rc::error_badbrace:
            return "an invalid repeat count";
        case rc::error_range:
            return "an invalid character range";
        case rc::error_escape:
            return "an invalid escape";
        case rc::error_backref:
            return "an invalid back reference";
        case rc::error_badrepeat:
            return "a repeat with nothing to repeat";
        case rc::error_ctype:
        case rc::error_collate:
            return "an invalid character class";
        default:
            return "a syntax error";
    }
}

void read_pattern(const yaml_map& map, field_spec& field) {
    constexpr std::string_view expectation = "expected an ECMAScript regular expression";
    field.pattern = map.optional_text("pattern", expectation);
    if (!field.pattern) {
        return;
    }
    if (field.type != "string") {
        map.fail("pattern", "a pattern applies to string fields only, not to " + field.type);
    }
    try {
        field.compiled_pattern = compile_pattern(*field.pattern);
    } catch (const std::regex_error& e) {
        map.fail("pattern", std::string(expectation) + ", got " + quote_text(*field.pattern) +
                                " which has " + regex_problem(e));
    }
}

// A YAML scalar as the JSON value of a field's type, before the field's own checks.
std::optional<bj::value> yaml_to_json(const field_spec& field, const std::string& text) {
    if (field.type == "integer") {
        std::int64_t out = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc() || end != text.data() + text.size()) {
            return std::nullopt;
        }
        return bj::value(out);
    }
    if (field.type == "boolean") {
        auto flag = detail::parse_bool(text);
        return flag ? std::optional<bj::value>(*flag) : std::nullopt;
    }
    return bj::value(bj::string(text));
}

void read_default(const yaml_map& map, field_spec& field) {
    auto node = map.find("default");
    if (!node) {
        return;
    }

    // A value of the wrong shape goes through the field's checks too, for the type's own message;
    // a secret's default is not shown back.
    std::optional<bj::value> value;
    if (node->IsScalar()) {
        value = yaml_to_json(field, node->Scalar());
    }
    std::string error;
    value = check_field_value(field, value ? *value : bj::value(bj::array()), error);
    if (!value) {
        map.fail("default", error + (field.secret ? "" : ", got " + detail::describe(*node)));
    }
    field.default_value = std::move(value);
}

field_spec read_field(const YAML::Node& node, const std::string& file, const std::string& path) {
    yaml_map map(node, file, path, "expected a map with key, type and label",
                 {"key", "type", "label", "help", "required", "pattern", "secret", "default"});
    field_spec field;
    field.key =
        matching_text(map, "key", key_regex(), "expected a key matching [A-Za-z][A-Za-z0-9_]*");
    field.type = map.required_text("type", "expected one of string, integer, boolean, url, date");
    if (!is_field_type(field.type)) {
        map.fail("type", "expected one of string, integer, boolean, url, date, got " +
                             quote_text(field.type));
    }
    field.label = non_empty_text(map, "label", "expected a label");
    field.help = map.optional_text("help", "expected a help text").value_or("");
    field.required = map.flag("required", false);
    field.secret = map.flag("secret", false);
    read_pattern(map, field);
    read_default(map, field);
    return field;
}

std::vector<field_spec> read_fields(const yaml_map& parent, std::string_view key) {
    std::vector<field_spec> fields;
    auto items = parent.list(key, expect_fields);
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto path = indexed(parent.path_of(key), i);
        auto field = read_field(items[i], parent.file(), path);
        for (std::size_t j = 0; j < fields.size(); ++j) {
            if (fields[j].key == field.key) {
                fail_at(parent.file(), path + ".key",
                        quote_text(field.key) + " is already used by " +
                            indexed(parent.path_of(key), j));
            }
        }
        fields.push_back(std::move(field));
    }
    return fields;
}

webhook_spec read_webhook(const YAML::Node& node, const std::string& file,
                          const std::string& path) {
    constexpr std::string_view expect_route =
        "expected \"\" for the default route or a path of a-z, 0-9, - and /";
    constexpr std::string_view expect_method = "expected one of GET, POST, PUT, PATCH, DELETE";
    yaml_map map(node, file, path, "expected a map with route, method and description",
                 {"route", "method", "description"});
    webhook_spec hook;
    hook.route = map.optional_text("route", expect_route).value_or("");
    if (!hook.route.empty() && !std::regex_match(hook.route, route_regex())) {
        map.fail("route", std::string(expect_route) + ", got " + quote_text(hook.route));
    }
    hook.method = map.optional_text("method", expect_method).value_or("POST");
    constexpr std::string_view methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    if (std::find(std::begin(methods), std::end(methods), hook.method) == std::end(methods)) {
        map.fail("method", std::string(expect_method) + ", got " + quote_text(hook.method));
    }
    hook.description = map.optional_text("description", expect_description).value_or("");
    return hook;
}

std::vector<webhook_spec> read_webhooks(const yaml_map& top) {
    std::vector<webhook_spec> hooks;
    auto items = top.list("webhooks", "expected a list of webhooks");
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto path = indexed("webhooks", i);
        auto hook = read_webhook(items[i], top.file(), path);
        for (std::size_t j = 0; j < hooks.size(); ++j) {
            if (hooks[j].route == hook.route) {
                fail_at(top.file(), path + ".route",
                        quote_text(hook.route) + " is already used by " + indexed("webhooks", j));
            }
        }
        hooks.push_back(std::move(hook));
    }
    return hooks;
}

action_spec read_action(const YAML::Node& node, const std::string& file, const std::string& path) {
    yaml_map map(node, file, path, "expected a map with id and name",
                 {"id", "name", "description", "params"});
    action_spec action;
    action.id = matching_text(map, "id", id_regex(), expect_id);
    action.name = non_empty_text(map, "name", expect_name);
    action.description = map.optional_text("description", expect_description).value_or("");
    action.params = read_fields(map, "params");
    return action;
}

std::vector<action_spec> read_actions(const yaml_map& top) {
    std::vector<action_spec> actions;
    auto items = top.list("actions", "expected a list of actions");
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto path = indexed("actions", i);
        auto action = read_action(items[i], top.file(), path);
        for (std::size_t j = 0; j < actions.size(); ++j) {
            if (actions[j].id == action.id) {
                fail_at(top.file(), path + ".id",
                        quote_text(action.id) + " is already used by " + indexed("actions", j));
            }
        }
        actions.push_back(std::move(action));
    }
    return actions;
}

std::vector<std::string> read_hooks(const yaml_map& top) {
    std::vector<std::string> hooks;
    auto items = top.list("hooks", "expected a list of hook names");
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto path = indexed("hooks", i);
        auto name = item_text(items[i], top.file(), path, expect_id);
        if (!std::regex_match(name, id_regex())) {
            fail_at(top.file(), path, std::string(expect_id) + ", got " + quote_text(name));
        }
        auto earlier = std::find(hooks.begin(), hooks.end(), name);
        if (earlier != hooks.end()) {
            fail_at(top.file(), path,
                    quote_text(name) + " is already used by " +
                        indexed("hooks", static_cast<std::size_t>(earlier - hooks.begin())));
        }
        hooks.push_back(std::move(name));
    }
    return hooks;
}

void read_identity(const yaml_map& top, manifest& m) {
    m.id = matching_text(top, "id", id_regex(), expect_id);
    m.name = non_empty_text(top, "name", expect_name);
    m.version =
        matching_text(top, "version", semver_regex(), "expected a semantic version like 1.2.3");
    m.publisher = non_empty_text(top, "publisher", "expected the publisher's name");
    m.description = non_empty_text(top, "description", expect_description);

    constexpr std::string_view expect_library =
        "expected the library's file name or a path relative to the plugin directory";
    m.library = top.required_text("library", expect_library);
    if (!is_relative_library(m.library)) {
        top.fail("library", std::string(expect_library) + ", got " + quote_text(m.library));
    }
}

void read_runtime(const yaml_map& top, manifest& m) {
    auto abi =
        matching_text(top, "abi", abi_regex(), "expected the host ABI as MAJOR.MINOR like 1.0");
    auto dot = abi.find('.');
    m.abi_major = std::stoi(abi.substr(0, dot));
    m.abi_minor = std::stoi(abi.substr(dot + 1));

    constexpr std::string_view expect_sync = "expected one of inbound, outbound, bidirectional";
    m.sync = top.required_text("sync", expect_sync);
    if (m.sync != "inbound" && m.sync != "outbound" && m.sync != "bidirectional") {
        top.fail("sync", std::string(expect_sync) + ", got " + quote_text(m.sync));
    }

    if (top.has("checksum")) {
        auto sum = matching_text(top, "checksum", checksum_regex(),
                                 "expected sha256: followed by 64 hex digits");
        std::transform(sum.begin(), sum.end(), sum.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        m.checksum = sum.substr(std::string_view("sha256:").size());
    }
}

// Adds a manifest unless an earlier one took its id.
void add_to_catalog(manifest m, catalog_load& out) {
    for (const auto& other : out.manifests) {
        if (other.id == m.id) {
            fail_at(m.file.string(), "id",
                    quote_text(m.id) + " is already used by " + other.file.string());
        }
    }
    out.manifests.push_back(std::move(m));
}

// The one document of the file; syntax errors become one sentence with the line.
YAML::Node load_yaml(std::string_view text, const std::string& file) {
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        std::string where = e.mark.is_null() ? ""
                                             : " at line " + std::to_string(e.mark.line + 1) +
                                                   ", column " + std::to_string(e.mark.column + 1);
        throw manifest_error(file + ": invalid YAML" + where + ": " + e.msg);
    }
    if (docs.size() > 1) {
        throw manifest_error(file + ": expected one YAML document, got " +
                             std::to_string(docs.size()));
    }
    if (docs.empty() || docs[0].IsNull()) {
        throw manifest_error(file + ": expected a map of manifest fields, got an empty document");
    }
    return docs[0];
}

bj::object field_to_json(const field_spec& field) {
    bj::object out;
    out["key"] = field.key;
    out["type"] = field.type;
    out["label"] = field.label;
    out["help"] = field.help;
    out["required"] = field.required;
    out["secret"] = field.secret;
    out["pattern"] = field.pattern ? bj::value(*field.pattern) : bj::value(nullptr);
    out["default"] = field.default_value ? *field.default_value : bj::value(nullptr);
    return out;
}

bj::array fields_to_json(const std::vector<field_spec>& fields) {
    bj::array out;
    for (const auto& field : fields) {
        out.push_back(field_to_json(field));
    }
    return out;
}

bj::array webhooks_to_json(const std::vector<webhook_spec>& webhooks) {
    bj::array out;
    for (const auto& hook : webhooks) {
        out.push_back(bj::object{
            {"route", hook.route}, {"method", hook.method}, {"description", hook.description}});
    }
    return out;
}

bj::array actions_to_json(const std::vector<action_spec>& actions) {
    bj::array out;
    for (const auto& action : actions) {
        out.push_back(bj::object{{"id", action.id},
                                 {"name", action.name},
                                 {"description", action.description},
                                 {"params", fields_to_json(action.params)}});
    }
    return out;
}

}  // namespace

const action_spec* manifest::find_action(std::string_view id) const {
    auto it = std::find_if(actions.begin(), actions.end(),
                           [&](const action_spec& a) { return a.id == id; });
    return it == actions.end() ? nullptr : &*it;
}

const webhook_spec* manifest::find_webhook(std::string_view route) const {
    auto it = std::find_if(webhooks.begin(), webhooks.end(),
                           [&](const webhook_spec& w) { return w.route == route; });
    return it == webhooks.end() ? nullptr : &*it;
}

const field_spec* manifest::find_field(std::string_view key) const {
    auto it = std::find_if(config.begin(), config.end(),
                           [&](const field_spec& f) { return f.key == key; });
    return it == config.end() ? nullptr : &*it;
}

bj::object manifest::to_json() const {
    bj::array hook_names;
    for (const auto& hook : hooks) {
        hook_names.push_back(bj::string(hook));
    }
    return bj::object{{"id", id},
                      {"name", name},
                      {"version", version},
                      {"publisher", publisher},
                      {"description", description},
                      {"sync", sync},
                      {"abi", std::to_string(abi_major) + "." + std::to_string(abi_minor)},
                      {"config", fields_to_json(config)},
                      {"webhooks", webhooks_to_json(webhooks)},
                      {"actions", actions_to_json(actions)},
                      {"hooks", std::move(hook_names)}};
}

manifest parse_manifest(std::string_view yaml_text, const fs::path& file_for_messages) {
    const auto file = file_for_messages.string();
    auto root = load_yaml(yaml_text, file);
    yaml_map top(root, file, "", "expected a map of manifest fields",
                 {"id", "name", "version", "publisher", "description", "library", "abi", "sync",
                  "checksum", "config", "webhooks", "actions", "hooks"});

    manifest m;
    m.file = file_for_messages;
    read_identity(top, m);
    read_runtime(top, m);
    m.config = read_fields(top, "config");
    m.webhooks = read_webhooks(top);
    m.actions = read_actions(top);
    m.hooks = read_hooks(top);
    return m;
}

manifest load_manifest(const fs::path& file) {
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (ec) {
        throw manifest_error(file.string() + ": cannot read the manifest (" + ec.message() + ")");
    }
    if (size > max_manifest_bytes) {
        throw manifest_error(file.string() + ": expected a manifest of at most 1 MiB, got " +
                             std::to_string(size) + " bytes");
    }

    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw manifest_error(file.string() + ": cannot read the manifest (" + std::strerror(errno) +
                             ")");
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_manifest(text, file);
}

catalog_load load_manifest_dir(const fs::path& dir) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& path = it->path();
        auto ext = path.extension();
        bool hidden = path.filename().string().starts_with(".");
        if (!hidden && (ext == ".yaml" || ext == ".yml") && it->is_regular_file()) {
            files.push_back(path);
        }
    }
    if (ec) {
        throw manifest_error(dir.string() + ": cannot read the manifest directory (" +
                             ec.message() + ")");
    }
    std::sort(files.begin(), files.end());

    catalog_load out;
    for (const auto& file : files) {
        try {
            add_to_catalog(load_manifest(file), out);
        } catch (const manifest_error& e) {
            out.errors.emplace_back(e.what());
        }
    }
    return out;
}

}  // namespace tributary::host
