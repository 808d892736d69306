// records.hpp: checks the normalised records connectors emit and turns them into store rows.
#pragma once

#include "app/app.hpp"
#include "store/store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tributary::host {

// nullopt with a one-line reason when the record breaks the record contract (docs/sdk.md).
std::optional<nps_record> parse_record(std::string_view connector, std::string_view json,
                                       std::string& error);

// What the record adds to NPS: the connector's nps-rollup hook decides when it has one, by the
// answer sent with the record or else by calling it; otherwise a rated response that was not
// dismissed counts.
nps_contribution contribution_of(const connector_entry& connector, const trib_call& call,
                                 const nps_record& record, const emitted_record& emitted);

struct stored_counts {
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t unchanged = 0;
    std::int64_t stale = 0;
    void add(upsert_outcome o);
};

// A record ready for the writer: parsed, with its contribution.
struct prepared_record {
    nps_record record;
    nps_contribution contribution;
};

// Parses and rates every emitted record; nullopt with the reason when one is unusable.
std::optional<std::vector<prepared_record>> prepare_records(const connector_entry& connector,
                                                            trib_call& call, std::string& error);

}  // namespace tributary::host
