// fixtures.hpp: reads the SatisMeter sample payloads under TRIBUTARY_FIXTURES_DIR.
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace satismeter_test {

inline std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(TRIBUTARY_FIXTURES_DIR) + "/satismeter/" + name);
    if (!in) {
        throw std::runtime_error("missing fixture " + name);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace satismeter_test
