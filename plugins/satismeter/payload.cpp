// payload.cpp: normalisation of SatisMeter responses, shared by the webhook and the backfill.
#include "satismeter/payload.hpp"

#include <tributary/email.hpp>
#include <tributary/json.hpp>
#include <tributary/time.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace tributary::satismeter {

using time::normalize_iso8601;
namespace {

// The reasons a payload is refused. They name fields, never values: they are logged.
constexpr std::string_view not_json = "body is not valid JSON";
constexpr std::string_view body_not_object = "body must be a JSON object";
constexpr std::string_view no_response = "body has no response object";
constexpr std::string_view response_not_object = "response must be a JSON object";
constexpr std::string_view bad_id = "response.id must be a non-empty string";
constexpr std::string_view bad_event = "event must be \"completed\" or \"dismissed\"";
constexpr std::string_view bad_rating = "response.rating must be an integer from 0 to 10";
constexpr std::string_view bad_nps_answer =
    "response.answers: the nps answer's value must be an integer from 0 to 10";
constexpr std::string_view bad_created = "response.created must be an ISO-8601 time";

// Personal data the platform has no use for; kept out of the stored raw response.
constexpr std::string_view dropped_fields[] = {"ip", "location", "device"};

// A value read from the payload, or why it is unusable.
template <class T>
struct checked {
    T value{};
    std::string_view reason;
};

normalised reject(std::string_view reason) {
    return {bj::value(), reason};
}

// An integer from 0 to 10, from a number or a numeric string.
std::optional<std::int64_t> as_rating(const bj::value& v) {
    auto n = json::as_integer(v);
    if (!n || *n < 0 || *n > 10) {
        return std::nullopt;
    }
    return n;
}

// The 0-10 rating: response.rating, else the answer whose metric is "nps". response.score is
// the response's -100/0/100 share of the NPS, not its rating, and is never read.
checked<std::optional<std::int64_t>> read_rating(const bj::value& response) {
    const auto* rating = json::find(response, {"rating"});
    if (rating != nullptr && !rating->is_null()) {
        auto r = as_rating(*rating);
        return r ? checked<std::optional<std::int64_t>>{r, {}}
                 : checked<std::optional<std::int64_t>>{{}, bad_rating};
    }

    const auto* answers = json::find(response, {"answers"});
    if (answers == nullptr || !answers->is_array()) {
        return {};
    }
    for (const auto& answer : answers->get_array()) {
        if (json::string_at(answer, {"metric"}) != "nps") {
            continue;
        }
        const auto* value = json::find(answer, {"value"});
        if (value == nullptr || value->is_null()) {
            return {};
        }
        auto r = as_rating(*value);
        return r ? checked<std::optional<std::int64_t>>{r, {}}
                 : checked<std::optional<std::int64_t>>{{}, bad_nps_answer};
    }
    return {};
}

// "dismissed", "pending" or "completed", from the delivery's event and the response's flags.
checked<std::string_view> read_state(const bj::value& response, const bj::value* envelope) {
    const auto* event = envelope == nullptr ? nullptr : json::find(*envelope, {"event"});
    bool dismissed_event = false;
    if (event != nullptr && !event->is_null()) {
        const auto* name = event->if_string();
        if (name == nullptr || (*name != "completed" && *name != "dismissed")) {
            return {{}, bad_event};
        }
        dismissed_event = *name == "dismissed";
    }

    if (dismissed_event || json::bool_at(response, {"dismissed"}) == true) {
        return {"dismissed", {}};
    }
    if (json::bool_at(response, {"pending"}) == true) {
        return {"pending", {}};
    }
    return {"completed", {}};
}

// The survey's own time in canonical UTC form, or null when the response has none.
checked<std::optional<std::string>> read_created(const bj::value& response) {
    const auto* created = json::find(response, {"created"});
    if (created == nullptr || created->is_null()) {
        return {};
    }
    const auto* text = created->if_string();
    auto canonical = text == nullptr ? std::nullopt : normalize_iso8601(*text);
    if (!canonical) {
        return {{}, bad_created};
    }
    return {std::move(canonical), {}};
}

// The first address found at user.email, user.traits.email, then the delivery's traits.email.
std::string read_email(const bj::value& response, const bj::value* envelope) {
    std::optional<std::string_view> places[] = {
        json::string_at(response, {"user", "email"}),
        json::string_at(response, {"user", "traits", "email"}),
        envelope == nullptr ? std::nullopt : json::string_at(*envelope, {"traits", "email"})};
    for (const auto& place : places) {
        if (place) {
            std::string email = normalize_email(*place);
            if (!email.empty()) {
                return email;
            }
        }
    }
    return {};
}

// The customer's own user id; widgets send it as a string or as a number.
std::optional<std::string> read_user_id(const bj::value& response) {
    const auto* id = json::find(response, {"user", "userId"});
    if (id == nullptr) {
        return std::nullopt;
    }
    if (const auto* text = id->if_string()) {
        return std::string(*text);
    }
    if (id->is_int64() || id->is_uint64()) {
        return bj::serialize(*id);
    }
    return std::nullopt;
}

std::optional<std::string_view> read_campaign(const bj::value& response,
                                              const bj::value* envelope) {
    auto own = json::string_at(response, {"campaign"});
    if (own || envelope == nullptr) {
        return own;
    }
    return json::string_at(*envelope, {"campaign", "id"});
}

// Adds key with the text, or with null when there is none or it is empty.
void put_text(bj::object& record, std::string_view key, std::optional<std::string_view> text) {
    if (text && !text->empty()) {
        record.emplace(key, *text);
    } else {
        record.emplace(key, nullptr);
    }
}

// Builds the record from a response object, which it takes over as the record's raw field.
normalised build_record(bj::value&& response, const bj::value* envelope) {
    auto id = json::string_at(response, {"id"});
    if (!id || id->empty()) {
        return reject(bad_id);
    }
    auto state = read_state(response, envelope);
    auto rating = read_rating(response);
    auto created = read_created(response);
    for (auto reason : {state.reason, rating.reason, created.reason}) {
        if (!reason.empty()) {
            return reject(reason);
        }
    }

    bj::object record(response.storage());
    record.reserve(11);
    record.emplace("type", "nps_response");
    record.emplace("sourceId", *id);
    put_text(record, "email", read_email(response, envelope));
    auto user_id = read_user_id(response);
    put_text(record, "externalUserId", user_id);
    if (rating.value && state.value != "dismissed") {
        record.emplace("score", *rating.value);
    } else {
        record.emplace("score", nullptr);
    }
    put_text(record, "comment", json::string_at(response, {"feedback"}));
    record.emplace("state", state.value);
    put_text(record, "created", created.value);
    put_text(record, "campaign", read_campaign(response, envelope));
    put_text(record, "method", json::string_at(response, {"method"}));

    auto& raw = response.get_object();
    for (auto field : dropped_fields) {
        raw.stable_erase(field);
    }
    record.emplace("raw", std::move(response));
    return {bj::value(std::move(record)), {}};
}

}  // namespace

normalised normalize_webhook(std::string_view body, bj::storage_ptr storage) {
    boost::system::error_code ec;
    bj::value envelope = bj::parse(body, ec, std::move(storage));
    if (ec) {
        return reject(not_json);
    }
    auto* fields = envelope.if_object();
    if (fields == nullptr) {
        return reject(body_not_object);
    }
    auto it = fields->find("response");
    if (it == fields->end() || !it->value().is_object()) {
        return reject(no_response);
    }

    // Same storage: the move hands over the object's memory, nothing is copied.
    bj::value response = std::move(it->value());
    return build_record(std::move(response), &envelope);
}

normalised normalize_export(bj::value&& response) {
    if (!response.is_object()) {
        return reject(response_not_object);
    }
    return build_record(std::move(response), nullptr);
}

bj::object nps_rollup(const bj::value& record) {
    const auto* score = json::find(record, {"score"});
    std::optional<std::int64_t> rating;
    if (score != nullptr && score->is_number()) {
        rating = as_rating(*score);
    }
    bool counts = rating.has_value() && json::string_at(record, {"state"}) != "dismissed";

    bj::object out;
    out.emplace("counts", counts);
    if (counts) {
        out.emplace("score", *rating);
    } else {
        out.emplace("score", nullptr);
    }
    return out;
}

}  // namespace tributary::satismeter
