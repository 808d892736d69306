// payload.hpp: turns a SatisMeter webhook body or export-API response into a normalised record.
#pragma once

#include <boost/json.hpp>

#include <string_view>

namespace tributary::satismeter {

namespace bj = boost::json;

// A normalised record, or the one-line reason why the input cannot be used.
//
// The record is the object the host stores for an NPS response:
//   type ("nps_response"), sourceId, email, externalUserId, score (0-10), comment,
//   state ("completed" | "dismissed" | "pending"), created (YYYY-MM-DDTHH:MM:SS.sssZ), campaign,
//   method, raw (the response object without ip, location and device).
// Every field but type, sourceId, state and raw may be null.
struct normalised {
    bj::value record;         // an object when ok()
    std::string_view reason;  // static text, safe to log and to answer with; empty when ok()

    bool ok() const { return reason.empty(); }
};

// A webhook delivery: `{"event", "campaign", "traits", "response": {...}}`. The body is parsed
// once into `storage` (for example a caller's monotonic arena) and the record is built there,
// taking over the response object rather than copying it.
normalised normalize_webhook(std::string_view body, bj::storage_ptr storage = {});

// One object of an export-API page's `data` array: the object is the response. It is taken over.
normalised normalize_export(bj::value&& response);

// The `nps-rollup` hook: whether a stored record counts towards NPS, and with which score.
// Answers `{"counts": bool, "score": 0-10 or null}`; only a rated response that was not
// dismissed counts.
bj::object nps_rollup(const bj::value& record);

}  // namespace tributary::satismeter
