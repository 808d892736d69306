// connectors.cpp: `tributary connector`: the catalog, its reload, and installing a manifest.
#include "app/json_io.hpp"
#include "cli/api.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

std::string names(const bj::value& list, std::string_view key) {
    std::string out;
    if (const auto* a = list.if_array()) {
        for (const auto& v : *a) {
            out += (out.empty() ? "" : ", ") + field_text(v, key);
        }
    }
    return out.empty() ? "-" : out;
}

std::string member_names(const bj::value& v, std::string_view list, std::string_view key) {
    const auto* o = v.if_object();
    return o && o->contains(list) ? names(o->at(list), key) : "-";
}

void show_connector(const bj::value& v) {
    std::cout << field_text(v, "id") << " " << field_text(v, "version") << ": "
              << field_text(v, "name") << " by " << field_text(v, "publisher") << "\n"
              << "  sync: " << field_text(v, "sync") << "\n"
              << "  config: " << member_names(v, "config", "key") << "\n"
              << "  actions: " << member_names(v, "actions", "id") << "\n";
}

int connector_list(const invocation& inv) {
    return request_and_show(inv, "GET", "/api/v1/connectors", std::nullopt, [](const bj::value& v) {
        print_table(
            v, {member("ID", "id"),
                member("VERSION", "version"),
                member("NAME", "name"),
                member("PUBLISHER", "publisher"),
                member("SYNC", "sync"),
                {"ACTIONS", [](const bj::value& c) { return member_names(c, "actions", "id"); }}});
    });
}

void show_report(const bj::value& v) {
    for (auto key : {"added", "replaced", "removed", "keptInUse", "unchanged"}) {
        const auto* o = v.if_object();
        const auto* list = o ? o->if_contains(key) : nullptr;
        if (list && list->is_array() && !list->get_array().empty()) {
            std::string ids;
            for (const auto& id : list->get_array()) {
                ids += (ids.empty() ? "" : ", ") + text_of(id);
            }
            std::cout << key << ": " << ids << "\n";
        }
    }
    const auto* o = v.if_object();
    if (const auto* errors = o ? o->if_contains("errors") : nullptr; errors && errors->is_array()) {
        for (const auto& e : errors->get_array()) {
            std::cout << "refused: " << text_of(e) << "\n";
        }
    }
}

int connector_reload(const invocation& inv) {
    int code = exit_ok;
    auto api = api_client::from(inv, code);
    if (!api) {
        return code;
    }
    auto answer = api->call("POST", "/api/v1/connectors/reload");
    if (!answer.ok()) {
        return report_failure(*api, answer);
    }
    if (inv.json()) {
        std::cout << to_json_text(answer.body) << "\n";
    } else {
        show_report(answer.body);
    }
    // A reload that refused something has not done all it was asked.
    const auto* errors =
        answer.body.is_object() ? answer.body.get_object().if_contains("errors") : nullptr;
    return errors && errors->is_array() && !errors->get_array().empty() ? exit_refused : exit_ok;
}

int connector_install(const invocation& inv) {
    std::filesystem::path file = inv.words[0];
    bj::object body;
    if (inv.has("--upload")) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::cerr << "tributary: cannot read " << file.string() << "\n";
            return exit_usage;
        }
        std::ostringstream text;
        text << in.rdbuf();
        body["manifest"] = text.str();
    } else {
        std::error_code ec;
        body["manifestPath"] = std::filesystem::absolute(file, ec).string();
    }
    return request_and_show(inv, "POST", "/api/v1/connectors", bj::value(body),
                            [](const bj::value& v) {
                                std::cout << "installed ";
                                show_connector(v);
                            });
}

}  // namespace

const area_spec& connector_area() {
    static const area_spec area{
        "connector",
        "The catalog of connectors the host can install for tenants.",
        {{"list", "", "Lists the catalog.", {}, 0, 0, connector_list},
         {"reload",
          "",
          "Reads the manifest directory again: loads new connectors, replaces changed ones that\n"
          "no installation uses, drops removed ones that no installation uses.",
          {},
          0,
          0,
          connector_reload},
         {"install",
          "PATH",
          "Checks a manifest and its library (ABI, id, version, checksum) and adds it to the\n"
          "catalog without a restart. PATH is read by the host; a library named relative to the\n"
          "manifest is looked for beside it, then in the host's plugin directory.",
          {{"--upload", "",
            "send the manifest's text instead of its path (the library must "
            "be in the host's plugin directory)"}},
          1,
          1,
          connector_install}}};
    return area;
}

}  // namespace tributary::host::cli
