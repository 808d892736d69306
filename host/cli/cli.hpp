// cli.hpp: the tributary command line: serve, and the admin tasks over the admin API.
#pragma once

#include <string>
#include <vector>

namespace tributary::host::cli {

// Runs one command; returns the process exit code.
int run(const std::string& program, const std::vector<std::string>& args);

}  // namespace tributary::host::cli
