// api.cpp: calls to the admin API from the CLI, and printing their answers and failures.
#include "cli/api.hpp"
#include "app/json_io.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

net::client_options cli_client_options() {
    net::client_options o;
    o.connect_timeout = std::chrono::seconds(5);
    o.read_timeout = std::chrono::seconds(60);
    o.user_agent = "tributary-cli/0.1";
    return o;
}

}  // namespace

api_client::api_client(std::string url, std::string token)
    : url_(std::move(url)),
      token_(std::move(token)),
      client_(std::make_shared<net::http_client>(cli_client_options())) {}

std::optional<api_client> api_client::from(const invocation& inv, int& exit_code) {
    std::string error;
    auto token = inv.token(error);
    if (!token) {
        std::cerr << "tributary: " << error << "\n";
        exit_code = exit_usage;
        return std::nullopt;
    }
    return api_client(inv.url(), *token);
}

api_answer api_client::call(std::string_view method, std::string_view path,
                            const std::optional<bj::value>& body) const {
    net::header_list headers{{"Accept", "application/json"}};
    if (!token_.empty()) {
        headers.emplace_back("Authorization", "Bearer " + token_);
    }
    std::string text;
    if (body) {
        headers.emplace_back("Content-Type", "application/json");
        text = to_json_text(*body);
    }
    auto result = client_->fetch(method, url_ + std::string(path), headers, text);

    api_answer answer;
    answer.status = result.status;
    answer.error = result.error;
    if (!result.body.empty()) {
        boost::system::error_code ec;
        auto parsed = bj::parse(result.body, ec);
        if (!ec) {
            answer.body = std::move(parsed);
        }
    }
    return answer;
}

int report_failure(const api_client& api, const api_answer& answer) {
    if (answer.status == 0) {
        std::cerr << "tributary: cannot reach the host at " << api.url() << ": " << answer.error
                  << "\n";
        return exit_unreachable;
    }
    std::string message = field_text(answer.body, "error");
    if (message == "-") {
        message = "the host answered without a reason";
    }
    std::cerr << "tributary: " << message << " (HTTP " << answer.status << ")\n";
    if (const auto* o = answer.body.if_object()) {
        if (const auto* fields = o->if_contains("fields"); fields && fields->is_array()) {
            for (const auto& f : fields->get_array()) {
                std::cerr << "  " << field_text(f, "field") << ": " << field_text(f, "message")
                          << "\n";
            }
        }
        if (const auto* job = o->if_contains("jobId"); job && job->is_string()) {
            std::cerr << "  job: " << job->get_string() << "\n";
        }
    }
    return exit_refused;
}

std::string segment(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@' ||
            c == '+') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::optional<std::string> require_tenant(const invocation& inv, std::string_view where) {
    auto tenant = inv.tenant();
    if (!tenant) {
        std::cerr << "tributary: " << where
                  << ": needs --tenant TENANT or TRIBUTARY_TENANT (see tributary " << where
                  << " --help)\n";
    }
    return tenant;
}

std::string tenant_path(const std::string& tenant, std::string_view rest) {
    return "/api/v1/tenants/" + segment(tenant) + std::string(rest);
}

std::optional<bj::value> read_json_file(const std::string& file, std::string& error) {
    std::ostringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            error = "cannot read " + file;
            return std::nullopt;
        }
        text << in.rdbuf();
    }
    boost::system::error_code ec;
    auto v = bj::parse(text.str(), ec);
    if (ec) {
        error = (file == "-" ? std::string("stdin") : file) + " is not valid JSON: " + ec.message();
        return std::nullopt;
    }
    return v;
}

int request_and_show(const invocation& inv, std::string_view method, const std::string& path,
                     const std::optional<bj::value>& body,
                     const std::function<void(const bj::value&)>& show) {
    int code = exit_ok;
    auto api = api_client::from(inv, code);
    if (!api) {
        return code;
    }
    auto answer = api->call(method, path, body);
    if (!answer.ok()) {
        return report_failure(*api, answer);
    }
    if (inv.json()) {
        std::cout << to_json_text(answer.body) << "\n";
    } else {
        show(answer.body);
    }
    return exit_ok;
}

// ---- text output -----------------------------------------------------------------------------

std::string text_of(const bj::value& v) {
    if (v.is_string()) {
        return std::string(v.get_string());
    }
    if (v.is_null()) {
        return "-";
    }
    return to_json_text(v);
}

std::string field_text(const bj::value& v, std::string_view key) {
    const auto* o = v.if_object();
    const auto* member = o ? o->if_contains(key) : nullptr;
    return member ? text_of(*member) : "-";
}

void print_object(const bj::value& value, int indent) {
    std::string pad(static_cast<std::size_t>(indent), ' ');
    if (!value.is_object()) {
        std::cout << pad << text_of(value) << "\n";
        return;
    }
    for (const auto& [k, v] : value.get_object()) {
        if (v.is_object() && !v.get_object().empty()) {
            std::cout << pad << std::string_view(k) << ":\n";
            print_object(v, indent + 2);
        } else {
            std::cout << pad << std::string_view(k) << ": " << text_of(v) << "\n";
        }
    }
}

void print_table(const bj::value& value, const std::vector<column>& columns) {
    static const bj::array no_rows;
    const auto& rows = value.is_array() ? value.get_array() : no_rows;
    if (rows.empty()) {
        std::cout << "(none)\n";
        return;
    }
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> widths;
    for (const auto& c : columns) {
        widths.push_back(c.header.size());
    }
    for (const auto& row : rows) {
        auto& line = cells.emplace_back();
        for (std::size_t i = 0; i < columns.size(); ++i) {
            line.push_back(columns[i].cell(row));
            widths[i] = std::max(widths[i], line.back().size());
        }
    }
    auto print_line = [&](const std::vector<std::string>& line) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            text += line[i];
            if (i + 1 < line.size()) {
                text += std::string(widths[i] - line[i].size() + 2, ' ');
            }
        }
        std::cout << text << "\n";
    };
    std::vector<std::string> header;
    for (const auto& c : columns) {
        header.emplace_back(c.header);
    }
    print_line(header);
    for (const auto& line : cells) {
        print_line(line);
    }
}

column member(std::string_view header, std::string_view key) {
    return {header, [key](const bj::value& row) { return field_text(row, key); }};
}

}  // namespace tributary::host::cli
