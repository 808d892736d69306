// page_cache.hpp: SQLite's page cache, without a whole-cache scan at the end of most commits.
#pragma once

#include <cstdint>

namespace tributary::host::sqlite {

// Installs, once and before SQLite initialises, a page cache over SQLite's default one. At the
// end of every write transaction SQLite asks its cache to drop the pages past the end of the
// database. The default cache then walks its whole hash table whenever a page was ever keyed
// far past that end, and B-tree balancing keys a page at the lock-byte page number (1 GiB in)
// for a moment each time it reorders split pages: with random inserts into indexes that is most
// commits, and the walk over a 16 MB cache cost the store's writer thread about 8% of its time.
// This cache keeps its own bound on the keys in use and passes a truncation on only when a page
// may lie past the limit. Returns false when SQLite was already initialised (then its own cache
// serves, which is only slower).
bool install_page_cache();

struct page_cache_counts {
    std::uint64_t truncations_asked;      // by SQLite, over all caches
    std::uint64_t truncations_passed_on;  // to SQLite's own cache
    std::uint64_t lock_page_keys;         // pages keyed at the lock-byte page for a moment
};

// For tests and diagnostics.
page_cache_counts page_cache_stats();

}  // namespace tributary::host::sqlite
