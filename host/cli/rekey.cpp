// rekey.cpp: `tributary rekey`: seals every stored secret again under a new secrets key.
#include "cli/commands.hpp"

#include "store/store.hpp"
#include "util/crypto.hpp"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace tributary::host::cli {

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* rekey_help = R"(usage: tributary rekey --data-dir DIR [options]

Seals every stored secret (config fields marked secret) again under a new secrets key, in one
transaction, and replaces DIR/secrets.key. Stop the host first; start it again afterwards.

  --data-dir DIR        the host's data directory (default ./data)
  --new-key-file FILE   take the new key from FILE (32 bytes in URL-safe base64) instead of
                        generating one; needed when the current key comes from
                        TRIBUTARY_SECRETS_KEY, which you then set to the new key

The new key is written to DIR/secrets.key.new first; if the command stops after the database
changed, rename that file to secrets.key.
)";

std::optional<std::string> read_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty()) {
        return std::nullopt;
    }
    return line;
}

// Writes the key text owner-only and flushed to disk.
bool write_key(const fs::path& file, const std::string& text) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return false;
    }
    std::string line = text + "\n";
    bool ok = ::fchmod(fd, 0600) == 0 &&
              ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    return ::close(fd) == 0 && ok;
}

std::optional<std::string> key_bytes(const std::string& text) {
    auto key = crypto::base64url_decode(text);
    return key && key->size() == 32 ? key : std::nullopt;
}

// Every sealed string of the config opened with `from` and sealed with `to`; false when one
// does not open.
bool reseal(bj::object& config, const std::string& from, const std::string& to,
            std::size_t& count) {
    for (auto& [k, v] : config) {
        if (!v.is_string() || !v.get_string().starts_with("v1:")) {
            continue;
        }
        auto plain = crypto::open(from, v.get_string());
        if (!plain) {
            return false;
        }
        v = crypto::seal(to, *plain);
        ++count;
    }
    return true;
}

int fail(const std::string& message) {
    std::cerr << "tributary: rekey: " << message << "\n";
    return 1;
}

}  // namespace

int rekey(const std::vector<std::string>& args) {
    fs::path data_dir = "data";
    std::optional<fs::path> new_key_file;
    option_reader r(args);
    while (r.next()) {
        if (r.is("--help") || r.is("-h")) {
            std::cout << rekey_help;
            return 0;
        } else if (r.is("--data-dir")) {
            data_dir = r.value();
        } else if (r.is("--new-key-file")) {
            new_key_file = r.value();
        } else {
            return usage_error("rekey: unknown option " + r.name() +
                               " (see tributary rekey --help)");
        }
        if (r.failed()) {
            return usage_error("rekey: " + r.name() + " needs a value");
        }
    }

    // The current key, as the host finds it, and the new one.
    const char* env = std::getenv("TRIBUTARY_SECRETS_KEY");
    bool from_env = env != nullptr && *env != '\0';
    if (from_env && !new_key_file) {
        return usage_error("rekey: the key comes from TRIBUTARY_SECRETS_KEY: give --new-key-file");
    }
    auto old_text =
        from_env ? std::optional<std::string>(env) : read_line(data_dir / "secrets.key");
    auto old_key = old_text ? key_bytes(*old_text) : std::nullopt;
    if (!old_key) {
        return fail("no usable secrets key in " + (data_dir / "secrets.key").string() +
                    " or TRIBUTARY_SECRETS_KEY");
    }
    std::string new_text = crypto::random_token(32);
    if (new_key_file) {
        auto given = read_line(*new_key_file);
        if (!given || !key_bytes(*given)) {
            return fail(new_key_file->string() + " must hold 32 bytes in URL-safe base64");
        }
        new_text = *given;
    }
    auto new_key = *key_bytes(new_text);
    if (!fs::exists(data_dir / "tributary.db")) {
        return fail("no database in " + data_dir.string());
    }

    fs::path staged = data_dir / "secrets.key.new";
    if (!from_env && !write_key(staged, new_text)) {
        return fail("cannot write " + staged.string());
    }

    // All installations in one transaction: either every secret moves to the new key or none.
    std::size_t count = 0;
    try {
        store s(store_options{data_dir / "tributary.db"});
        s.write_sync<bool>([&](write_txn& txn) {
            count = 0;  // the work may run again (store::write)
            for (auto inst : txn.installations()) {
                if (!reseal(inst.config, *old_key, new_key, count)) {
                    throw std::runtime_error("a secret of installation " + inst.id +
                                             " does not open with the current key");
                }
                txn.update_installation(inst);
            }
            audit_entry entry;
            entry.actor = "admin";
            entry.action = "secrets.rekey";
            entry.route = "tributary rekey";
            entry.after = bj::serialize(bj::object{{"secrets", count}});
            txn.insert_audit(entry);
            return true;
        });
        s.stop();
    } catch (const std::exception& e) {
        fs::remove(staged);
        return fail(e.what());
    }

    if (!from_env) {
        fs::rename(staged, data_dir / "secrets.key");
    }
    std::cout << "sealed " << count << " secret" << (count == 1 ? "" : "s") << " under the new key"
              << (from_env ? "; set TRIBUTARY_SECRETS_KEY to it before starting the host" : "")
              << "\n";
    return 0;
}

}  // namespace tributary::host::cli
