// page_cache.cpp: a page cache over SQLite's default one that skips truncations with nothing to
// drop.
//
// SQLite's default cache remembers the largest key it has held and, when asked to truncate below
// it, walks every hash bucket if that key is more than a hash table's length away from the limit.
// btree.c reorders the pages of a split by keying one of them, for a moment, at the lock-byte
// page (PENDING_BYTE / page size + 1), so that remembered key sits far past the end of any small
// database until the next truncation, which is the one at the end of the same transaction. Here
// each cache keeps a bound of its own: no page is keyed above max_key, except pages keyed at the
// lock-byte page number, which are counted. A truncation goes to SQLite's cache only when one of
// them may be at or past the limit; otherwise there is nothing to drop and it returns at once.
// The bound only ever over-estimates (pages SQLite's cache recycles are not subtracted), so a
// doubtful case is passed on.
#include "store/page_cache.hpp"

#include <sqlite3.h>

#include <atomic>

namespace tributary::host::sqlite {

namespace {

// SQLite's default PENDING_BYTE: the first byte of the lock range, 1 GiB into the file.
constexpr sqlite3_int64 pending_byte = 0x40000000;

sqlite3_pcache_methods2 base{};  // SQLite's own cache, which does the work

std::atomic<std::uint64_t> asked{0};
std::atomic<std::uint64_t> passed_on{0};
std::atomic<std::uint64_t> lock_page_keys{0};

struct cache {
    sqlite3_pcache* base;
    unsigned lock_page;  // the lock-byte page's number: never stored, used as a temporary key
    unsigned max_key;    // no page is keyed above this, but those at lock_page
    unsigned at_lock_page;
};

cache* of(sqlite3_pcache* p) {
    return reinterpret_cast<cache*>(p);
}

void note_key(cache* c, unsigned key) {
    if (key > c->max_key) {
        c->max_key = key;
    }
}

int x_init(void*) {
    return base.xInit(base.pArg);
}

void x_shutdown(void*) {
    if (base.xShutdown != nullptr) {
        base.xShutdown(base.pArg);
    }
}

sqlite3_pcache* x_create(int page_size, int extra, int purgeable) {
    auto* c = static_cast<cache*>(sqlite3_malloc(sizeof(cache)));
    if (c == nullptr) {
        return nullptr;
    }
    c->base = base.xCreate(page_size, extra, purgeable);
    if (c->base == nullptr) {
        sqlite3_free(c);
        return nullptr;
    }
    c->lock_page = static_cast<unsigned>(pending_byte / page_size) + 1;
    c->max_key = 0;
    c->at_lock_page = 0;
    return reinterpret_cast<sqlite3_pcache*>(c);
}

void x_cachesize(sqlite3_pcache* p, int pages) {
    base.xCachesize(of(p)->base, pages);
}

int x_pagecount(sqlite3_pcache* p) {
    return base.xPagecount(of(p)->base);
}

sqlite3_pcache_page* x_fetch(sqlite3_pcache* p, unsigned key, int create) {
    auto* c = of(p);
    auto* page = base.xFetch(c->base, key, create);
    if (page != nullptr) {
        // A page found or made at the lock-byte number this way is not a moment's reordering:
        // count it as an ordinary key, so that truncations below it are passed on.
        note_key(c, key);
    }
    return page;
}

void x_unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
    base.xUnpin(of(p)->base, page, discard);
}

void x_rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
    auto* c = of(p);
    base.xRekey(c->base, page, old_key, new_key);
    if (old_key == c->lock_page && c->at_lock_page > 0) {
        --c->at_lock_page;
    }
    if (new_key == c->lock_page) {
        ++c->at_lock_page;
        lock_page_keys.fetch_add(1, std::memory_order_relaxed);
    } else {
        note_key(c, new_key);
    }
}

void x_truncate(sqlite3_pcache* p, unsigned limit) {
    auto* c = of(p);
    asked.fetch_add(1, std::memory_order_relaxed);
    bool lock_page_at_or_past = c->at_lock_page > 0 && c->lock_page >= limit;
    if (c->max_key < limit && !lock_page_at_or_past) {
        return;  // no page is keyed at or past the limit: nothing to drop
    }
    passed_on.fetch_add(1, std::memory_order_relaxed);
    base.xTruncate(c->base, limit);
    if (limit > 0 && c->max_key >= limit) {
        c->max_key = limit - 1;
    }
    if (c->lock_page >= limit) {
        c->at_lock_page = 0;
    }
}

void x_destroy(sqlite3_pcache* p) {
    auto* c = of(p);
    base.xDestroy(c->base);
    sqlite3_free(c);
}

void x_shrink(sqlite3_pcache* p) {
    if (base.xShrink != nullptr) {
        base.xShrink(of(p)->base);
    }
}

bool install() {
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &base) != SQLITE_OK || base.xFetch == nullptr) {
        return false;  // SQLite is initialised already
    }
    static const sqlite3_pcache_methods2 methods{.iVersion = 1,
                                                 .pArg = nullptr,
                                                 .xInit = x_init,
                                                 .xShutdown = x_shutdown,
                                                 .xCreate = x_create,
                                                 .xCachesize = x_cachesize,
                                                 .xPagecount = x_pagecount,
                                                 .xFetch = x_fetch,
                                                 .xUnpin = x_unpin,
                                                 .xRekey = x_rekey,
                                                 .xTruncate = x_truncate,
                                                 .xDestroy = x_destroy,
                                                 .xShrink = x_shrink};
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) == SQLITE_OK;
}

}  // namespace

bool install_page_cache() {
    static const bool installed = install();
    return installed;
}

page_cache_counts page_cache_stats() {
    return {asked.load(std::memory_order_relaxed), passed_on.load(std::memory_order_relaxed),
            lock_page_keys.load(std::memory_order_relaxed)};
}

}  // namespace tributary::host::sqlite
