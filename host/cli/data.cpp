// data.cpp: `tributary company`, `tributary enduser` and `tributary nps`: a tenant's records.
#include "cli/api.hpp"

#include <iostream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

const option_spec file_option = {"--file", "FILE", "a JSON array to upload; - reads stdin"};

void show_counts(const bj::value& v) {
    std::cout << "inserted " << field_text(v, "inserted") << ", updated "
              << field_text(v, "updated") << ", unchanged " << field_text(v, "unchanged");
    if (auto matched = field_text(v, "matchedResponses"); matched != "-") {
        std::cout << ", matched " << matched << " waiting responses";
    }
    std::cout << "\n";
    if (const auto* o = v.if_object(); o && o->contains("conflicts")) {
        std::cout << "emails already owned by another End User: " << text_of(o->at("conflicts"))
                  << "\n";
    }
}

// PUT of a JSON array read from --file to one of the tenant's collections.
int upsert(const invocation& inv, std::string_view where, std::string_view collection) {
    auto tenant = require_tenant(inv, where);
    if (!tenant) {
        return exit_usage;
    }
    auto file = inv.get("--file");
    if (!file) {
        std::cerr << "tributary: " << where << ": needs --file FILE (see tributary " << where
                  << " --help)\n";
        return exit_usage;
    }
    std::string error;
    auto rows = read_json_file(*file, error);
    if (!rows) {
        std::cerr << "tributary: " << error << "\n";
        return exit_usage;
    }
    if (!rows->is_array()) {
        std::cerr << "tributary: " << *file << " must hold a JSON array\n";
        return exit_usage;
    }
    return request_and_show(inv, "PUT", tenant_path(*tenant, collection), *rows, show_counts);
}

void show_figures(const bj::value& v) {
    std::cout << "NPS " << field_text(v, "nps") << " over " << field_text(v, "responses")
              << " responses: " << field_text(v, "promoters") << " promoters, "
              << field_text(v, "passives") << " passives, " << field_text(v, "detractors")
              << " detractors; average score " << field_text(v, "averageScore") << "; updated "
              << field_text(v, "updatedAt") << "\n";
}

int company_nps(const invocation& inv, std::string_view where) {
    auto tenant = require_tenant(inv, where);
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "GET", tenant_path(*tenant, "/companies/" + segment(inv.words[0]) + "/nps"),
        std::nullopt, [](const bj::value& v) {
            std::cout << field_text(v, "name") << " (" << field_text(v, "externalId") << ")\n";
            show_figures(v);
        });
}

int enduser_get(const invocation& inv) {
    auto tenant = require_tenant(inv, "enduser get");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(inv, "GET", tenant_path(*tenant, "/endusers/" + segment(inv.words[0])),
                            std::nullopt, [](const bj::value& v) { print_object(v); });
}

int nps_portfolio(const invocation& inv) {
    auto tenant = require_tenant(inv, "nps portfolio");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "GET", tenant_path(*tenant, "/nps"), std::nullopt, [](const bj::value& v) {
            show_figures(v);
            std::cout << "\n";
            const auto* o = v.if_object();
            print_table(
                o && o->contains("companies") ? o->at("companies") : bj::value(),
                {member("COMPANY", "externalId"), member("NAME", "name"), member("NPS", "nps"),
                 member("RESPONSES", "responses"), member("PROMOTERS", "promoters"),
                 member("PASSIVES", "passives"), member("DETRACTORS", "detractors")});
        });
}

int nps_unmatched(const invocation& inv) {
    auto tenant = require_tenant(inv, "nps unmatched");
    if (!tenant) {
        return exit_usage;
    }
    std::string query = "?limit=" + segment(inv.get("--limit").value_or("100")) +
                        "&offset=" + segment(inv.get("--offset").value_or("0"));
    return request_and_show(inv, "GET", tenant_path(*tenant, "/nps/unmatched") + query,
                            std::nullopt, [](const bj::value& v) {
                                print_table(
                                    v, {member("RESPONSE", "responseId"), member("EMAIL", "email"),
                                        member("SCORE", "score"), member("STATE", "state"),
                                        member("CREATED", "created")});
                            });
}

}  // namespace

const area_spec& company_area() {
    static const area_spec area{
        "company",
        "A tenant's companies.",
        {{"upsert",
          "",
          "Creates or updates companies by externalId from a JSON array of\n"
          "{externalId, name, domains[]}.",
          {tenant_option, file_option},
          0,
          0,
          [](const invocation& inv) { return upsert(inv, "company upsert", "/companies"); }},
         {"nps",
          "EXTERNAL_ID",
          "Shows a company's NPS figures.",
          {tenant_option},
          1,
          1,
          [](const invocation& inv) { return company_nps(inv, "company nps"); }}}};
    return area;
}

const area_spec& enduser_area() {
    static const area_spec area{
        "enduser",
        "A tenant's End Users.",
        {{"upsert",
          "",
          "Creates or updates End Users by email from a JSON array of\n"
          "{email, companyExternalId, name?, externalId?, otherEmails[]?}; waiting responses\n"
          "with these emails are matched.",
          {tenant_option, file_option},
          0,
          0,
          [](const invocation& inv) { return upsert(inv, "enduser upsert", "/endusers"); }},
         {"get",
          "EMAIL",
          "Shows an End User and their latest NPS answer.",
          {tenant_option},
          1,
          1,
          enduser_get}}};
    return area;
}

const area_spec& nps_area() {
    static const area_spec area{
        "nps",
        "NPS figures of a tenant: per company, the portfolio, and unmatched responses.",
        {{"company",
          "EXTERNAL_ID",
          "Shows a company's NPS figures.",
          {tenant_option},
          1,
          1,
          [](const invocation& inv) { return company_nps(inv, "nps company"); }},
         {"portfolio",
          "",
          "Shows the tenant's NPS and each company's.",
          {tenant_option},
          0,
          0,
          nps_portfolio},
         {"unmatched",
          "",
          "Lists responses kept without a matching End User.",
          {tenant_option,
           {"--limit", "N", "at most N responses (default 100)"},
           {"--offset", "N", "skip the first N (default 0)"}},
          0,
          0,
          nps_unmatched}}};
    return area;
}

}  // namespace tributary::host::cli
