// deliveries.hpp: SatisMeter webhook deliveries in the real format, as webhook.lua makes them.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tributary::bench {

struct delivery {
    std::string id;  // response.id
    int version = 0;
    std::string body;
};

// The same mix as webhook.lua: 70% new responses (7% of them dismissed), 15% repeats, 15%
// updates; emails spread over the provisioned End Users, 5% unmatched, 2% anonymous. Response
// ids are <run><stream><counter> in hex, so separate runs and streams never collide.
class delivery_mix {
public:
    delivery_mix(std::uint32_t run, std::uint32_t stream);

    delivery next();

private:
    std::uint64_t mix(std::uint64_t k) const;
    std::string email_of(std::uint64_t k, std::uint64_t h) const;
    delivery make(std::uint64_t k, int version) const;

    std::uint32_t run_;
    std::uint32_t stream_;
    std::mt19937_64 random_;
    std::vector<int> versions_;  // by response number - 1
};

}  // namespace tributary::bench
