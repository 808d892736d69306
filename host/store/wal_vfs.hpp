// wal_vfs.hpp: a VFS that writes each commit's WAL frames in a few system calls.
#pragma once

namespace tributary::host::sqlite {

// Registers, on the first call, a VFS over SQLite's default one that gathers a WAL file's
// frames in memory (up to 1 MiB) and writes them in 64 KiB calls when SQLite syncs (or reads,
// sizes, truncates or closes) the file, and drops them when a transaction rolls back. Only for
// connections with synchronous=FULL, which sync the WAL before a commit is published. Returns its
// name for sqlite3_open_v2, or nullptr if it could not be registered (then open with the default
// VFS).
const char* gathering_wal_vfs();

}  // namespace tributary::host::sqlite
