// pulse_nps.cpp: the PulseNPS connector: signed survey-response webhooks into normalised records.
//
// PulseNPS posts one JSON event per survey response and signs it with HMAC-SHA256 under the
// installation's signing secret, over the timestamp, a dot and the raw body:
//
//     POST /hooks/pulse-nps/<installation-key>
//     Pulse-Signature: t=1712052895,v1=<hex HMAC-SHA256 of "1712052895." + body>
//
//     {"type": "response.completed",
//      "response": {"id": "resp_7Yq2", "surveyId": "srv_q2", "channel": "email", "score": 9,
//                   "comment": "Fast support", "submittedAt": "2024-04-02T10:14:55Z",
//                   "respondent": {"email": "ann@example.com", "externalId": "u-17"}}}
//
// Types are response.completed, response.dismissed (no score) and ping (sent when the webhook
// is set up; nothing is stored). During a secret rotation the header carries one v1= per secret.

#include <tributary/connector.hpp>
#include <tributary/hmac.hpp>
#include <tributary/json.hpp>
#include <tributary/nps.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pulse_nps {

namespace bj = boost::json;
namespace json = tributary::json;
using tributary::context;
using tributary::webhook_request;
using tributary::webhook_response;

// How PulseNPS signs; five minutes either way covers its retries' clock skew.
constexpr tributary::hmac::timestamped_scheme signature_scheme{
    "Pulse-Signature", "t", "v1", tributary::hmac::encoding::hex, ".", std::chrono::seconds(300)};

// "YYYY-MM-DDTHH:MM:SS" with optional fraction, in UTC ("Z"), as PulseNPS writes times.
bool is_utc_time(std::string_view s) {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
    if (s.size() < shape.size() + 1 || s.back() != 'Z') {
        return false;
    }
    for (std::size_t i = 0; i < shape.size(); ++i) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (shape[i] == 'd' ? !digit : s[i] != shape[i]) {
            return false;
        }
    }
    auto fraction = s.substr(shape.size(), s.size() - shape.size() - 1);
    if (fraction.empty()) {
        return true;
    }
    if (fraction.size() < 2 || fraction[0] != '.') {
        return false;
    }
    for (char c : fraction.substr(1)) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

void put_text(bj::object& record, std::string_view key, std::optional<std::string_view> text) {
    if (text) {
        record[key] = *text;
    } else {
        record[key] = nullptr;
    }
}

// The normalised record of a response event, or the reason it cannot be used.
struct normalised {
    bj::object record;
    std::string reason;
};

normalised normalize(const bj::value& event, bool dismissed) {
    const auto* response = json::find(event, {"response"});
    if (response == nullptr || !response->is_object()) {
        return {{}, "body has no response object"};
    }
    auto id = json::string_at(*response, {"id"});
    if (!id || id->empty()) {
        return {{}, "response.id must be a non-empty string"};
    }
    auto submitted = json::string_at(*response, {"submittedAt"});
    if (!submitted || !is_utc_time(*submitted)) {
        return {{}, "response.submittedAt must be a UTC time like 2024-04-02T10:14:55Z"};
    }
    auto score = json::integer_at(*response, {"score"});
    if (!dismissed && (!score || !tributary::nps::valid_score(*score))) {
        return {{}, "response.score must be an integer from 0 to 10"};
    }

    bj::object record;
    record["type"] = "nps_response";
    record["sourceId"] = *id;
    put_text(record, "email", json::string_at(*response, {"respondent", "email"}));
    put_text(record, "externalUserId", json::string_at(*response, {"respondent", "externalId"}));
    if (dismissed) {
        record["score"] = nullptr;
    } else {
        record["score"] = *score;
    }
    put_text(record, "comment", json::string_at(*response, {"comment"}));
    record["state"] = dismissed ? "dismissed" : "completed";
    record["created"] = *submitted;
    put_text(record, "campaign", json::string_at(*response, {"surveyId"}));
    put_text(record, "method", json::string_at(*response, {"channel"}));
    record["raw"] = *response;
    return {std::move(record), {}};
}

webhook_response refuse(context& ctx, int status, const std::string& reason) {
    ctx.info("refused a PulseNPS delivery", {{"reason", reason}, {"status", status}});
    return status == 401 ? webhook_response::unauthorized(reason)
                         : webhook_response::bad_request(reason);
}

// One delivery: the signature first, then at most one record.
webhook_response receive(context& ctx, const webhook_request& request) {
    auto secret = ctx.config_string("signingSecret");
    if (!secret || secret->empty()) {
        return refuse(ctx, 401, "the installation has no signing secret");
    }
    auto verdict = tributary::hmac::verify_timestamped(
        request.header("Pulse-Signature"), request.body(), *secret, ctx.now(), signature_scheme);
    if (!verdict) {
        return refuse(ctx, 401, verdict.reason);
    }

    auto event = json::parse(request.body());
    if (!event || !event->is_object()) {
        return refuse(ctx, 400, "body must be a JSON object");
    }
    auto type = json::string_at(*event, {"type"});
    if (type == "ping") {
        return {200, "application/json", R"({"stored":0})"};
    }
    if (type != "response.completed" && type != "response.dismissed") {
        return refuse(ctx, 400, "type must be response.completed, response.dismissed or ping");
    }

    auto result = normalize(*event, type == "response.dismissed");
    if (!result.reason.empty()) {
        return refuse(ctx, 400, result.reason);
    }
    ctx.emit(result.record);
    return {200, "application/json", R"({"stored":1})"};
}

class connector : public tributary::connector {
public:
    connector() { webhook("", receive); }
};

}  // namespace pulse_nps

TRIBUTARY_CONNECTOR(pulse_nps::connector, "pulse-nps", "1.0.0")
