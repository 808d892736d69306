// child_process.hpp: a program the test runs as a child process, killed when the test is done.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace tributary::backfill_test {

class child_process {
public:
    // Starts program with args; its stdout is read by the test, its stderr goes to a file.
    // `env` entries (NAME=value) are added to this process's environment.
    child_process(const std::filesystem::path& program, const std::vector<std::string>& args,
                  const std::filesystem::path& stderr_file,
                  const std::vector<std::string>& env = {}) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe failed: " + std::string(std::strerror(errno)));
        }
        out_ = fds[0];

        std::vector<std::string> argv_text{program.string()};
        argv_text.insert(argv_text.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_text) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        std::vector<std::string> env_text(env);
        for (char** e = environ; *e != nullptr; ++e) {
            env_text.emplace_back(*e);
        }
        std::vector<char*> envp;
        for (auto& e : env_text) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(out_);
            throw std::runtime_error("cannot start " + program.string() + ": " + std::strerror(rc));
        }
    }

    ~child_process() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
    }

    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return !status_.has_value(); }

    // The next stdout line that starts with prefix, without it; throws after `limit`.
    std::string line_starting(std::string_view prefix, std::chrono::milliseconds limit) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                if (line.starts_with(prefix)) {
                    return line.substr(prefix.size());
                }
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                throw std::runtime_error("no line starting with '" + std::string(prefix) + "'");
            }
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                continue;
            }
            char chunk[4096];
            auto n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) {
                throw std::runtime_error("the child closed its output before '" +
                                         std::string(prefix) + "'");
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // The port of a "listening on http(s)://HOST:PORT" line.
    std::uint16_t listening_port(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        auto url = line_starting("listening on ", limit);
        return static_cast<std::uint16_t>(std::stoul(url.substr(url.rfind(':') + 1)));
    }

    void signal(int sig) const {
        if (running()) {
            ::kill(pid_, sig);
        }
    }

    // The wait status once the child has ended; nullopt if it is still running after `limit`.
    std::optional<int> wait(std::chrono::milliseconds limit) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (running()) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                status_ = status;
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return status_;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
    std::optional<int> status_;
};

}  // namespace tributary::backfill_test
