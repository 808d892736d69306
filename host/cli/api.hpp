// api.hpp: the admin API as the CLI calls it, and how the CLI prints answers and failures.
#pragma once

#include "cli/command.hpp"
#include "net/http_client.hpp"

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host::cli {

struct api_answer {
    int status = 0;           // 0 when the host could not be reached
    boost::json::value body;  // null when the answer is empty or not JSON
    std::string error;        // why it could not be reached
    bool ok() const { return status >= 200 && status < 300; }
};

class api_client {
public:
    api_client(std::string url, std::string token);

    // The client for the invocation's --url and token; nullopt (with the reason printed and
    // exit_code set) when there is no token.
    static std::optional<api_client> from(const invocation& inv, int& exit_code);

    api_answer call(std::string_view method, std::string_view path,
                    const std::optional<boost::json::value>& body = std::nullopt) const;
    const std::string& url() const { return url_; }

private:
    std::string url_;
    std::string token_;
    std::shared_ptr<net::http_client> client_;
};

// Prints why the request failed, with the host's per-field errors; returns the exit code.
int report_failure(const api_client& api, const api_answer& answer);

// A path segment, percent-encoded.
std::string segment(std::string_view text);

// The tenant from --tenant or TRIBUTARY_TENANT; prints a usage error when there is none.
std::optional<std::string> require_tenant(const invocation& inv, std::string_view where);

// "/api/v1/tenants/<tenant>" + rest.
std::string tenant_path(const std::string& tenant, std::string_view rest = {});

// Reads a JSON document from FILE, or stdin for "-"; the reason in error when it cannot.
std::optional<boost::json::value> read_json_file(const std::string& file, std::string& error);

// Sends one request and prints the answer: as JSON with --json, else with show.
int request_and_show(const invocation& inv, std::string_view method, const std::string& path,
                     const std::optional<boost::json::value>& body,
                     const std::function<void(const boost::json::value&)>& show);

// ---- text output -----------------------------------------------------------------------------

// A value as a person reads it: strings bare, null as "-", the rest as JSON.
std::string text_of(const boost::json::value& v);
// The member's text, or "-" when absent.
std::string field_text(const boost::json::value& v, std::string_view key);

// "key: value" lines, nested objects indented; anything else as text.
void print_object(const boost::json::value& v, int indent = 0);

struct column {
    std::string_view header;
    std::function<std::string(const boost::json::value&)> cell;
};
// Padded columns with a header line, or "(none)" for an empty list.
void print_table(const boost::json::value& rows, const std::vector<column>& columns);
// A column that shows one member.
column member(std::string_view header, std::string_view key);

}  // namespace tributary::host::cli
