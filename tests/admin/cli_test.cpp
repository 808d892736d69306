// cli_test.cpp: the built `tributary` binary against a host in this process: exit codes, text,
// --json, and a job followed to its end.
#include "cli/command.hpp"

#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include "admin_fixture.hpp"
#include "emulator/satismeter_emulator.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ta = tributary::admin_test;
namespace ti = tributary::integration;

struct cli_result {
    int code = -1;
    std::string out;
    std::string err;
};

std::ostream& operator<<(std::ostream& o, const cli_result& r) {
    return o << "exit " << r.code << "\nstdout: " << r.out << "\nstderr: " << r.err;
}

// Runs the binary with only the given environment, stdin from /dev/null, in dir.
cli_result run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const fs::path& dir) {
    ti::temp_dir output{"tributary-cli-output"};
    auto out_file = output.path() / "out";
    auto err_file = output.path() / "err";

    std::vector<std::string> argv_text{TRIBUTARY_CLI};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_text = env;
    env_text.emplace_back("PATH=/usr/bin:/bin");
    std::vector<char*> envp;
    for (auto& e : env_text) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid == 0) {
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || ::chdir(dir.c_str()) != 0) {
            ::_exit(127);
        }
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    cli_result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ti::read_file(out_file);
    r.err = ti::read_file(err_file);
    return r;
}

// A port on the loopback that nothing listens on.
unsigned short closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

struct cli_fixture : ta::admin_fixture {
    ti::temp_dir work{"tributary-cli-work"};

    std::string url() const { return "http://127.0.0.1:" + std::to_string(host->port()); }

    // As the admin, through the environment.
    cli_result run(const std::vector<std::string>& args) {
        return run_with(std::string(ti::admin_token), args);
    }

    cli_result run_with(const std::string& token, const std::vector<std::string>& args) {
        return run_cli(args, {"TRIBUTARY_URL=" + url(), "TRIBUTARY_ADMIN_TOKEN=" + token},
                       work.path());
    }

    bj::value json_of(const cli_result& r) {
        BOOST_TEST_INFO(r);
        return bj::parse(r.out);
    }

    fs::path write(const std::string& name, const std::string& text) {
        auto file = work.path() / name;
        ti::write_file(file, text);
        return file;
    }

    std::string make_installation(const std::string& tenant, const std::string& base_url) {
        write("api-key", std::string(ta::api_key) + "\n");
        auto r = run({"installation", "create", "--tenant", tenant, "--connector", "satismeter",
                      "--set", "projectId=" + std::string(ta::project_id), "--set-file",
                      "apiKey=api-key", "--set", "baseUrl=" + base_url, "--json"});
        BOOST_TEST_REQUIRE(r.code == 0, r);
        auto body = json_of(r);
        std::string hook(body.at("webhookUrl").as_string());
        remember(hook.substr(hook.rfind('/') + 1));
        return std::string(body.at("id").as_string());
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(help_and_usage_errors, cli_fixture) {
    auto help = run({"--help"});
    BOOST_TEST(help.code == 0, help);
    BOOST_TEST(help.out.find("installation  a tenant's installations") != std::string::npos);

    auto area = run({"installation", "--help"});
    BOOST_TEST(area.code == 0, area);
    BOOST_TEST(area.out.find("rotate-key") != std::string::npos);
    auto verb = run({"installation", "create", "--help"});
    BOOST_TEST(verb.code == 0, verb);
    BOOST_TEST(verb.out.find("--connector ID") != std::string::npos);
    BOOST_TEST(verb.out.find("--token-file FILE") != std::string::npos);

    auto unknown = run({"nothing"});
    BOOST_TEST(unknown.code == 2);
    BOOST_TEST(unknown.err == "tributary: unknown command 'nothing' (see tributary help)\n");
    auto no_id = run({"tenant", "create"});
    BOOST_TEST(no_id.code == 2);
    BOOST_TEST(no_id.err ==
               "tributary: tenant create: expected ID (see tributary tenant create "
               "--help)\n");
    auto bogus = run({"tenant", "list", "--bogus"});
    BOOST_TEST(bogus.code == 2);
    BOOST_TEST(bogus.err ==
               "tributary: tenant list: unknown option --bogus (see tributary tenant "
               "list --help)\n");
    auto no_tenant = run({"installation", "list"});
    BOOST_TEST(no_tenant.code == 2);
    BOOST_TEST(no_tenant.err ==
               "tributary: installation list: needs --tenant TENANT or "
               "TRIBUTARY_TENANT (see tributary installation list --help)\n");
    auto no_token = run_cli({"tenant", "list"}, {"TRIBUTARY_URL=" + url()}, work.path());
    BOOST_TEST(no_token.code == 2);
    BOOST_TEST(no_token.err ==
               "tributary: no token: give --token or --token-file, or set TRIBUTARY_ADMIN_TOKEN\n");
}

BOOST_FIXTURE_TEST_CASE(tenant_commands_print_text_and_json, cli_fixture) {
    auto created = run({"tenant", "create", "acme", "--name", "Acme"});
    BOOST_TEST(created.code == 0, created);
    BOOST_TEST(created.out == "created tenant acme (Acme)\n");
    auto again = run({"tenant", "create", "acme"});
    BOOST_TEST(again.code == 1);
    BOOST_TEST(again.err == "tributary: tenant 'acme' already exists (HTTP 409)\n");

    auto listed = run({"tenant", "list", "--json"});
    BOOST_TEST_REQUIRE(listed.code == 0, listed);
    auto tenants = json_of(listed).as_array();
    BOOST_TEST_REQUIRE(tenants.size() == 1u);
    BOOST_TEST(tenants[0].at("name") == "Acme");

    // The token also comes from --token-file.
    write("token", std::string(ti::admin_token) + "\n");
    auto from_file = run_cli({"tenant", "get", "acme", "--token-file", "token", "--url", url()}, {},
                             work.path());
    BOOST_TEST(from_file.code == 0, from_file);
    BOOST_TEST(from_file.out.find("name: Acme") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(wrong_token_exits_1_and_unreachable_host_exits_3, cli_fixture) {
    auto wrong = run_with("not-the-token", {"tenant", "list"});
    BOOST_TEST(wrong.code == 1);
    BOOST_TEST(wrong.err == "tributary: missing or wrong bearer token (HTTP 401)\n");

    auto closed = "http://127.0.0.1:" + std::to_string(closed_port());
    auto away = run({"tenant", "list", "--url", closed});
    BOOST_TEST(away.code == 3, away);
    BOOST_TEST(away.err.starts_with("tributary: cannot reach the host at " + closed + ": "));
}

BOOST_FIXTURE_TEST_CASE(installation_commands, cli_fixture) {
    create_tenant("acme");
    auto id = make_installation("acme", "http://127.0.0.1:1");

    auto listed = run({"installation", "list", "--tenant", "acme", "--json"});
    BOOST_TEST_REQUIRE(listed.code == 0, listed);
    BOOST_TEST(listed.out.find(ta::api_key) == std::string::npos);
    BOOST_TEST(json_of(listed).as_array()[0].at("config").at("apiKey") ==
               "\u2022\u2022\u2022\u2022QRST");

    auto invalid =
        run({"installation", "configure", id, "--tenant", "acme", "--set", "projectId=nope"});
    BOOST_TEST(invalid.code == 1);
    BOOST_TEST(invalid.err ==
               "tributary: invalid config (HTTP 400)\n  projectId: must match ^[0-9a-f]{24}$\n");

    auto disabled = run({"installation", "disable", id, "--tenant", "acme"});
    BOOST_TEST(disabled.code == 0, disabled);
    BOOST_TEST(disabled.out.starts_with(id + ": satismeter for acme, disabled\n"));
    BOOST_TEST(run({"installation", "enable", id, "--tenant", "acme"}).code == 0);

    auto rotated = run({"installation", "rotate-key", id, "--tenant", "acme", "--json"});
    BOOST_TEST_REQUIRE(rotated.code == 0, rotated);
    std::string url(json_of(rotated).at("webhookUrl").as_string());
    remember(url.substr(url.rfind('/') + 1));

    auto deleted = run({"installation", "delete", id, "--tenant", "acme"});
    BOOST_TEST(deleted.code == 0, deleted);
    auto gone = run({"installation", "delete", id, "--tenant", "acme"});
    BOOST_TEST(gone.code == 1);
    BOOST_TEST(gone.err == "tributary: no such installation (HTTP 404)\n");
}

BOOST_FIXTURE_TEST_CASE(record_and_nps_commands, cli_fixture) {
    create_tenant("acme");
    write(
        "companies.json",
        R"([{"externalId": "northwind", "name": "Northwind", "domains": ["northwind.example"]}])");
    write("users.json",
          R"([{"email": "Ada@Northwind.example", "companyExternalId": "northwind"}])");

    auto companies = run({"company", "upsert", "--tenant", "acme", "--file", "companies.json"});
    BOOST_TEST(companies.code == 0, companies);
    BOOST_TEST(companies.out == "inserted 1, updated 0, unchanged 0\n");
    auto users = run({"enduser", "upsert", "--tenant", "acme", "--file", "users.json", "--json"});
    BOOST_TEST(users.code == 0, users);
    BOOST_TEST(json_of(users).at("inserted") == 1);

    auto user = run({"enduser", "get", "ada@northwind.example", "--tenant", "acme", "--json"});
    BOOST_TEST_REQUIRE(user.code == 0, user);
    BOOST_TEST(json_of(user).at("nps").is_null());
    auto portfolio = run({"nps", "portfolio", "--tenant", "acme", "--json"});
    BOOST_TEST_REQUIRE(portfolio.code == 0, portfolio);
    BOOST_TEST(json_of(portfolio).at("companies").as_array().size() == 1u);
    BOOST_TEST(run({"nps", "company", "northwind", "--tenant", "acme"}).code == 0);
    auto unmatched = run({"nps", "unmatched", "--tenant", "acme", "--json"});
    BOOST_TEST(unmatched.code == 0, unmatched);
    BOOST_TEST(json_of(unmatched).as_array().empty());

    auto broken = write("broken.json", "[{");
    auto bad_file = run({"company", "upsert", "--tenant", "acme", "--file", "broken.json"});
    BOOST_TEST(bad_file.code == 2);
    BOOST_TEST(bad_file.err.starts_with("tributary: broken.json is not valid JSON"));
}

BOOST_FIXTURE_TEST_CASE(action_run_waits_for_the_job_and_summarises, cli_fixture) {
    tributary::emulator::emulator_options eo;
    eo.data.responses = 120;
    eo.api_key = std::string(ta::api_key);
    eo.default_page_size = 25;
    tributary::emulator::satismeter_emulator emulator(eo);
    emulator.start();

    create_tenant("acme");
    auto id = make_installation("acme", emulator.base_url());
    auto waited =
        run({"action", "run", id, "pull-historical-nps", "--tenant", "acme", "--wait", "--json"});
    BOOST_TEST_REQUIRE(waited.code == 0, waited);
    auto job = json_of(waited);
    BOOST_TEST(job.at("state") == "succeeded");
    BOOST_TEST(job.at("progress").at("responsesSeen") == 120);

    // Text: a summary line; not waiting: the job id, then watch and get.
    auto text = run({"action", "run", id, "pull-historical-nps", "--tenant", "acme", "--wait"});
    BOOST_TEST(text.code == 0, text);
    BOOST_TEST(text.out.starts_with("job job_"));
    BOOST_TEST(text.out.find(" succeeded in ") != std::string::npos);
    BOOST_TEST(text.out.find(", 120 responses (") != std::string::npos);

    auto started = run(
        {"action", "run", id, "pull-historical-nps", "--tenant", "acme", "--no-wait", "--json"});
    BOOST_TEST_REQUIRE(started.code == 0, started);
    std::string job_id(json_of(started).at("jobId").as_string());
    auto watched = run({"job", "watch", job_id});
    BOOST_TEST(watched.code == 0, watched);
    BOOST_TEST(run({"job", "get", job_id}).code == 0);
    auto finished = run({"job", "cancel", job_id});
    BOOST_TEST(finished.code == 1);
    BOOST_TEST(finished.err == "tributary: the job has already finished (HTTP 409)\n");
    auto jobs = run({"job", "list", "--tenant", "acme", "--json"});
    BOOST_TEST(json_of(jobs).as_array().size() == 3u);

    auto missing = run({"action", "run", id, "no-such-action", "--tenant", "acme"});
    BOOST_TEST(missing.code == 1);
    BOOST_TEST(missing.err == "tributary: the connector has no such action (HTTP 404)\n");
}

BOOST_FIXTURE_TEST_CASE(connector_commands, cli_fixture) {
    auto manifest =
        write("raw.yaml", ta::test_manifest("test-raw-internal",
                                            ta::test_library_name("tributary_test_raw_internal")));
    auto installed = run({"connector", "install", "raw.yaml"});
    BOOST_TEST(installed.code == 0, installed);
    BOOST_TEST(installed.out.starts_with("installed test-raw-internal 1.0.0: "));
    auto again = run({"connector", "install", manifest.string()});
    BOOST_TEST(again.code == 1);
    BOOST_TEST(again.err ==
               "tributary: connector 'test-raw-internal' 1.0.0 is already in the "
               "catalog (HTTP 409)\n");

    auto reloaded = run({"connector", "reload", "--json"});
    BOOST_TEST(reloaded.code == 0, reloaded);
    auto listed = run({"connector", "list"});
    BOOST_TEST(listed.code == 0, listed);
    BOOST_TEST(listed.out.find("test-raw-internal") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(token_and_audit_commands, cli_fixture) {
    create_tenant("acme");
    create_tenant("beta");
    auto created = run({"token", "create", "--tenant", "acme", "--name", "ops", "--json"});
    BOOST_TEST_REQUIRE(created.code == 0, created);
    auto body = json_of(created);
    std::string token(body.at("token").as_string());
    std::string token_id(body.at("id").as_string());
    remember(token);

    auto denied = run_with(token, {"installation", "list", "--tenant", "beta"});
    BOOST_TEST(denied.code == 1);
    BOOST_TEST(denied.err == "tributary: this token may act only for tenant 'acme' (HTTP 403)\n");
    auto host_route = run_with(token, {"connector", "reload"});
    BOOST_TEST(host_route.code == 1);
    BOOST_TEST(host_route.err == "tributary: this route needs the admin token (HTTP 403)\n");
    BOOST_TEST(run_with(token, {"installation", "list", "--tenant", "acme"}).code == 0);

    auto audit = run_with(token, {"audit", "list", "--json"});
    BOOST_TEST_REQUIRE(audit.code == 0, audit);
    auto entries = json_of(audit);
    for (const auto& e : entries.as_array()) {
        BOOST_TEST(e.at("tenant") == "acme");
    }
    BOOST_TEST(run({"audit", "list"}).code == 0);

    auto listed = run({"token", "list", "--tenant", "acme"});
    BOOST_TEST(listed.code == 0, listed);
    BOOST_TEST(listed.out.find(token) == std::string::npos);
    BOOST_TEST(run({"token", "revoke", token_id, "--tenant", "acme"}).code == 0);
    auto revoked = run_with(token, {"installation", "list", "--tenant", "acme"});
    BOOST_TEST(revoked.code == 1);

    auto health = run({"health", "--json"});
    BOOST_TEST(health.code == 0, health);
    BOOST_TEST(json_of(health).at("readyz").at("status") == "ready");
}

BOOST_FIXTURE_TEST_CASE(rekey_seals_secrets_under_a_new_key, cli_fixture) {
    create_tenant("acme");
    auto inst = install("acme");
    auto old_key = ti::read_file(data.path() / "secrets.key");
    host.reset();

    auto r = run_cli({"rekey", "--data-dir", data.path().string()}, {}, work.path());
    BOOST_TEST_REQUIRE(r.code == 0, r);
    BOOST_TEST(r.out == "sealed 1 secret under the new key\n");
    BOOST_TEST(ti::read_file(data.path() / "secrets.key") != old_key);
    BOOST_TEST(!fs::exists(data.path() / "secrets.key.new"));

    // The host opens the secret with the new key, and deliveries go on.
    start();
    auto entry = host->app().installation_by_id(inst.id);
    BOOST_TEST_REQUIRE(entry != nullptr);
    BOOST_TEST(entry->config_json.find(ta::api_key) != std::string::npos);
    BOOST_TEST(anonymous().post(inst.hook, ta::fixture("webhook_dismissed")).status == 200u);
    BOOST_TEST(audit().front().at("action") == "secrets.rekey");

    auto wrong = run_cli({"rekey", "--data-dir", work.path().string()}, {}, work.path());
    BOOST_TEST(wrong.code == 1);
    BOOST_TEST(wrong.err == "tributary: rekey: no usable secrets key in " +
                                (work.path() / "secrets.key").string() +
                                " or TRIBUTARY_SECRETS_KEY\n");
}
