// records.cpp: the record contract between connectors and the host.
#include "app/records.hpp"

#include "util/time.hpp"

#include <tributary/email.hpp>
#include <tributary/json.hpp>
#include <tributary/nps.hpp>

namespace tributary::host {

namespace bj = boost::json;

namespace {

std::optional<std::string> optional_text(const bj::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
        return std::nullopt;
    }
    return std::string(it->value().get_string());
}

// What an nps-rollup answer, {"counts": bool, "score": 0-10 or null}, adds to NPS; throws when
// the answer is unusable.
nps_contribution rollup_of(const bj::value& answer) {
    const auto* fields = answer.if_object();
    const auto* counts = fields == nullptr ? nullptr : fields->if_contains("counts");
    if (counts == nullptr || !counts->is_bool()) {
        throw std::runtime_error("the nps-rollup hook answered without a true or false \"counts\"");
    }
    if (!counts->get_bool()) {
        return {false, 0};
    }
    auto score = json::integer_at(answer, {"score"});
    if (!score || !nps::valid_score(*score)) {
        throw std::runtime_error("the nps-rollup hook counted a score outside 0 to 10");
    }
    return {true, static_cast<int>(*score)};
}

}  // namespace

std::optional<nps_record> parse_record(std::string_view connector, std::string_view text,
                                       std::string& error) {
    // The parsed record lives only until its fields are copied out: a stack arena keeps a record
    // of ordinary size (a SatisMeter one is about 2 KiB) off the heap.
    alignas(std::max_align_t) unsigned char buffer[8 * 1024];
    bj::monotonic_resource arena(buffer, sizeof(buffer));
    boost::system::error_code ec;
    bj::value parsed = bj::parse(text, ec, &arena);
    if (ec || !parsed.is_object()) {
        error = "record is not a JSON object";
        return std::nullopt;
    }
    const auto& o = parsed.get_object();
    nps_record r;
    r.source = connector;

    auto type = optional_text(o, "type");
    if (type && *type != "nps_response") {
        error = "record type '" + *type + "' is not known";
        return std::nullopt;
    }
    auto id = optional_text(o, "sourceId");
    if (!id || id->empty() || id->size() > 256) {
        error = "record sourceId must be a non-empty string";
        return std::nullopt;
    }
    r.source_id = std::move(*id);

    if (auto email = optional_text(o, "email")) {
        auto normal = normalize_email(*email);
        if (!normal.empty()) {
            r.email = std::move(normal);
        }
    }
    r.external_user_id = optional_text(o, "externalUserId");
    if (auto it = o.find("score"); it != o.end() && !it->value().is_null()) {
        auto score = json::as_integer(it->value());
        if (!score || !nps::valid_score(*score)) {
            error = "record score must be an integer from 0 to 10 or null";
            return std::nullopt;
        }
        r.score = static_cast<int>(*score);
    }
    r.comment = optional_text(o, "comment");

    r.state = optional_text(o, "state").value_or("completed");
    if (r.state != "completed" && r.state != "dismissed" && r.state != "pending") {
        error = "record state must be completed, dismissed or pending";
        return std::nullopt;
    }
    if (auto created = optional_text(o, "created")) {
        r.created_ms = parse_time_ms(*created);
        if (!r.created_ms) {
            error = "record created is not an ISO-8601 time";
            return std::nullopt;
        }
    }
    r.campaign = optional_text(o, "campaign");
    r.method = optional_text(o, "method");
    if (auto it = o.find("raw"); it != o.end()) {
        r.raw_json = bj::serialize(it->value());
    } else {
        r.raw_json = "{}";
    }
    return r;
}

nps_contribution contribution_of(const connector_entry& connector, const trib_call& call,
                                 const nps_record& record, const emitted_record& emitted) {
    if (!connector.has_rollup_hook) {
        bool counts = record.score && record.state != "dismissed";
        return {counts, record.score.value_or(0)};
    }
    if (!emitted.hook_answers.empty()) {
        // A few dozen bytes, such as {"nps-rollup":{"counts":true,"score":9}}: kept off the heap.
        // One level deeper than an answer the host reads from a hook it calls.
        alignas(std::max_align_t) unsigned char buffer[1024];
        bj::monotonic_resource arena(buffer, sizeof(buffer));
        bj::parse_options options;
        options.max_depth += 1;
        boost::system::error_code ec;
        bj::value answers = bj::parse(emitted.hook_answers, ec, &arena, options);
        if (ec) {
            throw std::runtime_error("the hook answers sent with a record are not JSON: " +
                                     ec.message());
        }
        if (!answers.is_object()) {
            throw std::runtime_error("the hook answers sent with a record are not a JSON object");
        }
        if (const auto* answer = answers.get_object().if_contains("nps-rollup")) {
            return rollup_of(*answer);
        }
    }
    // The hook runs in a call of its own, which may not emit: a record emitted there would land
    // in the list being read.
    trib_call hook_call;
    hook_call.connector = call.connector;
    hook_call.tenant = call.tenant;
    hook_call.installation = call.installation;
    hook_call.config_json = call.config_json;
    hook_call.request_id = call.request_id;
    hook_call.max_records = 0;
    if (connector.library->hook(hook_call, "nps-rollup", emitted.json) != TRIB_OK ||
        !hook_call.has_result) {
        throw std::runtime_error("the nps-rollup hook failed: " + hook_call.error_message);
    }
    auto answer = json::parse(hook_call.result);
    if (!answer) {
        throw std::runtime_error("the nps-rollup hook answered invalid JSON");
    }
    return rollup_of(*answer);
}

void stored_counts::add(upsert_outcome o) {
    switch (o) {
        case upsert_outcome::inserted:
            ++inserted;
            break;
        case upsert_outcome::updated:
            ++updated;
            break;
        case upsert_outcome::unchanged:
            ++unchanged;
            break;
        case upsert_outcome::stale:
            ++stale;
            break;
    }
}

std::optional<std::vector<prepared_record>> prepare_records(const connector_entry& connector,
                                                            trib_call& call, std::string& error) {
    std::vector<prepared_record> out;
    out.reserve(call.records.size());
    for (const auto& emitted : call.records) {
        auto record = parse_record(connector.spec.id, emitted.json, error);
        if (!record) {
            return std::nullopt;
        }
        try {
            auto contribution = contribution_of(connector, call, *record, emitted);
            out.push_back({std::move(*record), contribution});
        } catch (const std::exception& e) {
            error = e.what();
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace tributary::host
