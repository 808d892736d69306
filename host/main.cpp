// main.cpp: the tributary command line.
#include "app/app.hpp"
#include "cli/cli.hpp"
#include "util/log.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return tributary::host::cli::run(argv[0], args);
}
