// wal_vfs.cpp: a VFS over SQLite's default one that writes each commit's WAL frames at once.
//
// SQLite writes a WAL frame as two pwrite calls (its 24-byte header, then the page), so a commit
// of 50 pages costs 100 system calls, each walking the kernel's page-cache write path. In the
// webhook path those calls were the single largest cost of the writer thread. Here the frames
// of a WAL file are gathered in memory while they arrive in order and written with one call when
// SQLite syncs the file, reads from it, asks its size, truncates it, closes it, or writes
// elsewhere in it. With synchronous=FULL SQLite syncs the WAL before it publishes a commit, so
// every committed frame is in the file before any reader, checkpoint or crash could look for
// it. Frames still in memory belong to a transaction that has not committed; when it ends
// without committing (the connection gives up the WAL write lock) they are dropped. The store
// uses it only for the writer's connection, and checks that it runs with synchronous=FULL.
#include "store/wal_vfs.hpp"

#include "store/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace tributary::host::sqlite {

namespace {

constexpr const char* vfs_name = "tributary-wal";
constexpr sqlite3_int64 buffer_limit = 1 << 20;  // bytes gathered at most before a write
constexpr sqlite3_int64 max_write = 64 * 1024;   // bytes per write call

// SQLite allocates szOsFile bytes per open file: this struct, then the real file after it.
struct gathering_file {
    sqlite3_file base;   // pMethods points at our methods
    sqlite3_file* real;  // the default VFS's file, right after this struct
    bool gather;         // a WAL file: writes are gathered
    char* data;          // gathered bytes, for file offsets [start, start + size)
    sqlite3_int64 start;
    sqlite3_int64 size;
    sqlite3_int64 capacity;
    const char* db_name;  // the database's name as SQLite passed it (one pointer per connection)
    gathering_file* wal;  // a database file: its connection's WAL file, while open
};
static_assert(sizeof(gathering_file) % 8 == 0, "the real file that follows must stay aligned");

sqlite3_vfs* base_vfs = nullptr;

// The open database files, so that a WAL file finds the database file of its own connection:
// SQLite gives both the same name pointer, sqlite3_filename_database() of the WAL's name.
std::mutex open_mutex;
std::vector<gathering_file*> open_databases;

// SQLite's WAL write lock: the first lock slot of the WAL index (WAL_WRITE_LOCK in wal.c).
constexpr int wal_write_lock = 0;

gathering_file* self(sqlite3_file* f) {
    return reinterpret_cast<gathering_file*>(f);
}

const sqlite3_io_methods& real_methods(gathering_file* f) {
    return *f->real->pMethods;
}

// Writes what was gathered, in pieces the default VFS takes whole: its unix writes are meant
// for single pages and handle at most 128 KiB - 1 bytes per call.
int flush(gathering_file* f) {
    int rc = SQLITE_OK;
    for (sqlite3_int64 done = 0; done < f->size && rc == SQLITE_OK; done += max_write) {
        auto piece = static_cast<int>(std::min(max_write, f->size - done));
        rc = real_methods(f).xWrite(f->real, f->data + done, piece, f->start + done);
    }
    f->size = 0;
    return rc;
}

bool reserve(gathering_file* f, sqlite3_int64 bytes) {
    if (bytes <= f->capacity) {
        return true;
    }
    sqlite3_int64 capacity =
        std::max<sqlite3_int64>(bytes, std::min(f->capacity * 2, buffer_limit));
    auto* grown = static_cast<char*>(std::realloc(f->data, static_cast<std::size_t>(capacity)));
    if (grown == nullptr) {
        return false;
    }
    f->data = grown;
    f->capacity = capacity;
    return true;
}

int x_close(sqlite3_file* file) {
    auto* f = self(file);
    {
        std::lock_guard lock(open_mutex);
        std::erase(open_databases, f);
        for (auto* db : open_databases) {
            if (db->wal == f) {
                db->wal = nullptr;
            }
        }
    }
    int rc = flush(f);
    int closed = real_methods(f).xClose(f->real);
    std::free(f->data);
    f->data = nullptr;
    f->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    auto* f = self(file);
    if (f->size > 0 && offset < f->start + f->size && offset + amount > f->start) {
        if (int rc = flush(f); rc != SQLITE_OK) {
            return rc;
        }
    }
    return real_methods(f).xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* in, int amount, sqlite3_int64 offset) {
    auto* f = self(file);
    if (!f->gather) {
        return real_methods(f).xWrite(f->real, in, amount, offset);
    }
    sqlite3_int64 end = f->start + f->size;
    if (f->size > 0 && offset >= f->start && offset + amount <= end) {
        // A frame rewritten within its own transaction: change it where it waits.
        std::memcpy(f->data + (offset - f->start), in, static_cast<std::size_t>(amount));
        return SQLITE_OK;
    }
    bool follows = f->size > 0 && offset == end;
    if (!follows || f->size + amount > buffer_limit) {
        if (int rc = flush(f); rc != SQLITE_OK) {
            return rc;
        }
        f->start = offset;
    }
    if (amount > max_write || !reserve(f, f->size + amount)) {
        if (int rc = flush(f); rc != SQLITE_OK) {
            return rc;
        }
        return real_methods(f).xWrite(f->real, in, amount, offset);
    }
    std::memcpy(f->data + f->size, in, static_cast<std::size_t>(amount));
    f->size += amount;
    return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    auto* f = self(file);
    if (int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return real_methods(f).xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
    auto* f = self(file);
    if (int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return real_methods(f).xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    auto* f = self(file);
    if (int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return real_methods(f).xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
    auto* f = self(file);
    return real_methods(f).xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
    auto* f = self(file);
    return real_methods(f).xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
    auto* f = self(file);
    return real_methods(f).xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
    auto* f = self(file);
    return real_methods(f).xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* file) {
    auto* f = self(file);
    return real_methods(f).xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* file) {
    auto* f = self(file);
    return real_methods(f).xDeviceCharacteristics(f->real);
}

// Our methods are version 3 whatever the real file's are: without its shared-memory methods
// SQLite gets the errors it would get from a VFS that cannot do WAL.
bool has_shm(gathering_file* f) {
    return real_methods(f).iVersion >= 2 && real_methods(f).xShmMap != nullptr;
}

int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
    auto* f = self(file);
    if (!has_shm(f)) {
        return SQLITE_IOERR_SHMMAP;
    }
    return real_methods(f).xShmMap(f->real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    auto* f = self(file);
    if (!has_shm(f)) {
        return SQLITE_IOERR_SHMLOCK;
    }
    int rc = real_methods(f).xShmLock(f->real, offset, n, flags);
    if (rc == SQLITE_OK && f->wal != nullptr && offset == wal_write_lock &&
        flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
        // The write transaction has ended. A commit left nothing gathered (its sync wrote it
        // out); whatever is left belongs to a rolled-back transaction and must never reach the
        // file, where another connection may have committed frames at the same offsets since.
        f->wal->size = 0;
    }
    return rc;
}

void x_shm_barrier(sqlite3_file* file) {
    auto* f = self(file);
    if (has_shm(f)) {
        real_methods(f).xShmBarrier(f->real);
    }
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
    auto* f = self(file);
    if (!has_shm(f)) {
        return SQLITE_OK;
    }
    return real_methods(f).xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    auto* f = self(file);
    if (real_methods(f).iVersion < 3) {
        *out = nullptr;  // SQLite reads with xRead instead
        return SQLITE_OK;
    }
    if (f->size > 0) {
        if (int rc = flush(f); rc != SQLITE_OK) {
            return rc;
        }
    }
    return real_methods(f).xFetch(f->real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    auto* f = self(file);
    if (real_methods(f).iVersion < 3) {
        return SQLITE_OK;
    }
    return real_methods(f).xUnfetch(f->real, offset, page);
}

const sqlite3_io_methods gathering_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* f = self(file);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->real->pMethods = nullptr;
    f->gather = (flags & SQLITE_OPEN_WAL) != 0;
    f->data = nullptr;
    f->start = 0;
    f->size = 0;
    f->capacity = 0;
    f->db_name = nullptr;
    f->wal = nullptr;
    int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
    // Without real methods there is nothing to close: SQLite must not call ours either.
    f->base.pMethods = f->real->pMethods != nullptr ? &gathering_methods : nullptr;
    if (f->base.pMethods != nullptr && name != nullptr) {
        std::lock_guard lock(open_mutex);
        if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
            f->db_name = name;
            open_databases.push_back(f);
        } else if (f->gather) {
            f->db_name = sqlite3_filename_database(name);
            for (auto* db : open_databases) {
                if (db->db_name == f->db_name) {
                    db->wal = f;
                }
            }
        }
    }
    return rc;
}

sqlite3_vfs gathering_vfs;

}  // namespace

const char* gathering_wal_vfs() {
    static std::once_flag once;
    static bool registered = false;
    std::call_once(once, [] {
        install_page_cache();  // before SQLite initialises, which finding a VFS does
        base_vfs = sqlite3_vfs_find(nullptr);
        if (base_vfs == nullptr || base_vfs->iVersion < 1) {
            return;
        }
        // Everything but opening files is the default VFS's own: those functions use the VFS
        // pointer they get for nothing but the fields copied here.
        gathering_vfs = *base_vfs;
        gathering_vfs.szOsFile = static_cast<int>(sizeof(gathering_file)) + base_vfs->szOsFile;
        gathering_vfs.zName = vfs_name;
        gathering_vfs.pNext = nullptr;
        gathering_vfs.xOpen = x_open;
        registered = sqlite3_vfs_register(&gathering_vfs, 0) == SQLITE_OK;
    });
    return registered ? vfs_name : nullptr;
}

}  // namespace tributary::host::sqlite
