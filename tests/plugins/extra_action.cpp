// extra_action.cpp: an SDK connector that registers an action its manifest does not declare.
#include <tributary/connector.hpp>

namespace {

class extra_action_connector : public tributary::connector {
public:
    extra_action_connector() {
        webhook("", [](tributary::context&, const tributary::webhook_request&) {
            return tributary::webhook_response{200, "application/json", R"({"ok":true})"};
        });
        action("surprise", [](tributary::action_context&, const boost::json::object&) {});
    }
};

}  // namespace

TRIBUTARY_CONNECTOR(extra_action_connector, "test-extra-action", "1.0.0")
