// throwing_connector.cpp: an SDK connector whose webhook throws when the body is "throw".
//
// TEST_THROWS_STD=1 throws a std::runtime_error, 0 a type that is no std::exception; either way
// the SDK shim turns it into TRIB_ERR_INTERNAL. Any other body is answered 200, storing nothing.
#include <tributary/connector.hpp>

#include <stdexcept>

#ifndef TEST_CONNECTOR_ID
#error "TEST_CONNECTOR_ID must name the id the descriptor reports"
#endif

namespace {

struct not_a_std_exception {
    int code = 42;
};

tributary::webhook_response receive(tributary::context&, const tributary::webhook_request& req) {
    if (req.body() == "throw") {
#if TEST_THROWS_STD
        throw std::runtime_error("the test connector throws on request");
#else
        throw not_a_std_exception{};
#endif
    }
    return {200, "application/json", R"({"ok":true})"};
}

class throwing_connector : public tributary::connector {
public:
    throwing_connector() { webhook("", receive); }
};

}  // namespace

TRIBUTARY_CONNECTOR(throwing_connector, TEST_CONNECTOR_ID, "1.0.0")
