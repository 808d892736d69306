// temp_dir.hpp: a fresh directory under the system's temporary directory, removed afterwards.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tributary::test {

struct temp_dir {
    std::filesystem::path dir;

    // Unique per process and object, so that tests running side by side never share one.
    explicit temp_dir(std::string_view prefix) {
        dir = std::filesystem::temp_directory_path() /
              (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace tributary::test
