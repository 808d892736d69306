// connector_test.cpp: the C++ layer sends the answers of a connector's record hooks with each
// record it emits, when the host takes them (ABI 1.1), and plain records otherwise.
#include <tributary/connector.hpp>
#include <tributary/testing.hpp>

#define BOOST_TEST_MODULE connector
#include <boost/test/unit_test.hpp>

#include <string>

namespace {

namespace bj = boost::json;
namespace tt = tributary::testing;
using tributary::context;
using tributary::webhook_request;
using tributary::webhook_response;

// Counts a scored record unless raw.test is set; a record whose sourceId is "boom" makes it throw.
bj::value rollup(context&, const bj::value& record) {
    if (tributary::json::string_at(record, {"sourceId"}) == "boom") {
        throw tributary::error(TRIB_ERR_INVALID_INPUT, "cannot rate boom");
    }
    auto score = tributary::json::integer_at(record, {"score"});
    bool counts = score && !tributary::json::bool_at(record, {"raw", "test"}).value_or(false);
    return bj::object{{"counts", counts}, {"score", counts ? bj::value(*score) : nullptr}};
}

// Emits every element of a JSON array as a record, from a webhook or an action.
void emit_all(context& ctx, const bj::value& records) {
    for (const auto& record : records.as_array()) {
        ctx.emit(record);
    }
}

webhook_response receive(context& ctx, const webhook_request& request) {
    emit_all(ctx, bj::parse(request.body()));
    return {200, "application/json", "{}"};
}

class rated : public tributary::connector {
public:
    rated() {
        webhook("", receive);
        action("import", [](tributary::action_context& ctx, const bj::object& params) {
            emit_all(ctx, params.at("records"));
            ctx.commit_page(bj::object{{"done", true}}, {});
        });
        hook("nps-rollup", rollup);
    }
};

class unrated : public tributary::connector {
public:
    unrated() { webhook("", receive); }
};

// Emits a record whose score is an unsigned integer in memory, one with a double that Boost.JSON
// reads back as its neighbour, and a plain one; its hook counts signed scores only.
class unsigned_score : public tributary::connector {
public:
    unsigned_score() {
        webhook("", [](context& ctx, const webhook_request&) {
            ctx.emit(bj::object{{"sourceId", "u"}, {"score", 9u}});
            ctx.emit(bj::object{{"sourceId", "s"}, {"score", 9}});
            ctx.emit(bj::object{{"sourceId", "d"}, {"score", 9}, {"weight", 123456789.123456789}});
            return webhook_response{200, "application/json", "{}"};
        });
        hook("nps-rollup", [](context&, const bj::value& record) {
            const auto& score = record.at("score");
            return bj::value{{"counts", score.is_int64()},
                             {"score", score.is_int64() ? score : bj::value(nullptr)}};
        });
    }
};

// Its hook tries to emit a record of its own.
class emitting_hook : public tributary::connector {
public:
    emitting_hook() {
        webhook("", receive);
        hook("nps-rollup", [](context& ctx, const bj::value& record) {
            ctx.emit(bj::object{{"sourceId", "from-the-hook"}});
            return rollup(ctx, record);
        });
    }
};

const std::string three_records = R"([
    {"sourceId": "a", "score": 9, "raw": {}},
    {"sourceId": "b", "score": 3, "raw": {"test": true}},
    {"sourceId": "c", "score": null, "state": "dismissed"}
])";

// One instance of Connector on a fake host.
template <class Connector>
struct on_host {
    tt::fake_host host;
    tt::driver plugin{tt::descriptor_of<Connector>(), host};

    tt::call_result deliver(std::string_view body) {
        auto r = plugin.webhook(body);
        BOOST_TEST_REQUIRE(r.status == TRIB_OK, r.error);
        BOOST_TEST_REQUIRE(r.records.size() == r.hook_answers.size());
        return r;
    }

    // What the host gets by calling the hook with the record, as an ABI 1.0 host does.
    bj::value called_answer(const bj::value& record) {
        auto r = plugin.hook("nps-rollup", record);
        BOOST_TEST_REQUIRE(r.status == TRIB_OK);
        return r.json();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(each_emitted_record_carries_the_answer_its_hook_gives) {
    on_host<rated> f;
    auto r = f.deliver(three_records);
    BOOST_TEST_REQUIRE(r.records.size() == 3u);
    BOOST_TEST(r.hook_answers[0] == bj::parse(R"({"nps-rollup":{"counts":true,"score":9}})"));
    BOOST_TEST(r.hook_answers[1] == bj::parse(R"({"nps-rollup":{"counts":false,"score":null}})"));
    BOOST_TEST(r.hook_answers[2] == bj::parse(R"({"nps-rollup":{"counts":false,"score":null}})"));
    for (std::size_t i = 0; i < r.records.size(); ++i) {
        BOOST_TEST(r.hook_answers[i].at("nps-rollup") == f.called_answer(r.records[i]));
    }
}

BOOST_AUTO_TEST_CASE(records_an_action_emits_carry_answers_too) {
    on_host<rated> f;
    auto r = f.plugin.action("import", {{"records", bj::parse(three_records)}});
    BOOST_TEST_REQUIRE(r.status == TRIB_OK, r.error);
    BOOST_TEST_REQUIRE(f.host.commits().size() == 1u);
    BOOST_TEST_REQUIRE(f.host.emitted_hook_answers().size() == 3u);
    BOOST_TEST(f.host.emitted_hook_answers()[0] ==
               bj::parse(R"({"nps-rollup":{"counts":true,"score":9}})"));
}

BOOST_AUTO_TEST_CASE(a_host_of_abi_1_0_gets_plain_records) {
    on_host<rated> f;
    f.host.speak_abi_1_0();
    auto r = f.deliver(three_records);
    BOOST_TEST(r.records.size() == 3u);
    BOOST_TEST(r.hook_answers == std::vector<bj::value>(3, nullptr), "");
}

// The host then calls the hook with the record and reports its failure, as it always did.
BOOST_AUTO_TEST_CASE(a_hook_that_throws_leaves_its_answer_out) {
    on_host<rated> f;
    auto r = f.deliver(R"([{"sourceId": "boom", "score": 9}, {"sourceId": "d", "score": 10}])");
    BOOST_TEST_REQUIRE(r.records.size() == 2u);
    BOOST_TEST(r.hook_answers[0].is_null());
    BOOST_TEST(r.hook_answers[1] == bj::parse(R"({"nps-rollup":{"counts":true,"score":10}})"));

    auto called = f.plugin.hook("nps-rollup", r.records[0]);
    BOOST_TEST(called.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(called.error == "cannot rate boom");
}

BOOST_AUTO_TEST_CASE(a_connector_without_record_hooks_sends_plain_records) {
    on_host<unrated> f;
    auto r = f.deliver(three_records);
    BOOST_TEST(r.records.size() == 3u);
    BOOST_TEST(r.hook_answers == std::vector<bj::value>(3, nullptr), "");
}

// The host and a hook it calls read the record from its text, where 9u reads back as a signed 9:
// asked about the value in memory, this hook would answer otherwise, so the host asks it.
BOOST_AUTO_TEST_CASE(a_record_that_reads_back_otherwise_from_its_text_is_left_to_the_host) {
    on_host<unsigned_score> f;
    auto r = f.deliver("");
    BOOST_TEST_REQUIRE(r.records.size() == 3u);
    BOOST_TEST(r.hook_answers[0].is_null());
    BOOST_TEST(f.called_answer(r.records[0]) == bj::parse(R"({"counts":true,"score":9})"));
    BOOST_TEST(r.hook_answers[1] == bj::parse(R"({"nps-rollup":{"counts":true,"score":9}})"));
    BOOST_TEST(r.hook_answers[2].is_null());
}

BOOST_AUTO_TEST_CASE(a_hook_cannot_emit_records) {
    on_host<emitting_hook> f;
    auto r = f.deliver(R"([{"sourceId": "a", "score": 9}])");
    BOOST_TEST_REQUIRE(r.records.size() == 1u);
    BOOST_TEST(r.records[0].at("sourceId") == "a");
    BOOST_TEST(r.hook_answers[0].is_null());

    auto called = f.plugin.hook("nps-rollup", r.records[0]);
    BOOST_TEST(called.status == TRIB_ERR_INTERNAL);
    BOOST_TEST(called.error == "a hook cannot emit records");
    BOOST_TEST(f.host.emitted().size() == 1u);
}

// The layer checks for newer host services itself, so its libraries load on hosts of ABI 1.0.
BOOST_AUTO_TEST_CASE(the_descriptor_claims_abi_1_0) {
    on_host<rated> f;
    BOOST_TEST(f.plugin.descriptor().abi_major == 1u);
    BOOST_TEST(f.plugin.descriptor().abi_minor == 0u);
}
