// abi_probe.cpp: a connector whose descriptor claims a chosen ABI version and size, so that
// tests can load deliberately mismatched libraries. PROBE_KIND picks the claim.
#include <tributary/connector.hpp>

#include <cstddef>

#define PROBE_CURRENT 0      // what TRIBUTARY_CONNECTOR exports today
#define PROBE_ABI_1_0 1      // an ABI 1.0 descriptor: minor 0 and 1.0's size
#define PROBE_NEWER_MINOR 2  // one minor ahead of the host
#define PROBE_OTHER_MAJOR 3  // the next major
#define PROBE_TOO_SMALL 4    // a descriptor shorter than ABI 1.0's

#ifndef PROBE_KIND
#error "define PROBE_KIND"
#endif

namespace {

namespace bj = boost::json;

// ABI 1.0's descriptor ends with run_hook.
constexpr std::uint32_t size_1_0 = offsetof(trib_connector, run_hook) + sizeof(void*);

class probe : public tributary::connector {
public:
    probe() {
        hook("echo", [](tributary::context&, const bj::value& input) { return input; });
    }
};

trib_connector claim(trib_connector d) {
    switch (PROBE_KIND) {
        case PROBE_ABI_1_0:
            d.abi_minor = 0;
            d.struct_size = size_1_0;
            break;
        case PROBE_NEWER_MINOR:
            d.abi_minor = TRIBUTARY_ABI_MINOR + 1;
            break;
        case PROBE_OTHER_MAJOR:
            d.abi_major = TRIBUTARY_ABI_MAJOR + 1;
            break;
        case PROBE_TOO_SMALL:
            d.struct_size = size_1_0 - sizeof(void*);
            break;
        default:
            break;
    }
    return d;
}

}  // namespace

extern "C" TRIBUTARY_EXPORT const trib_connector* tributary_connector_entry(void) {
    static const trib_connector descriptor =
        claim(*tributary::detail::shim<probe>::descriptor("abi-probe", "1.0.0"));
    return &descriptor;
}
