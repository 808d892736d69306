#!/usr/bin/env bash
# Fails when a C++ file of the project differs from what .clang-format asks for.
set -euo pipefail

root=$1
cd "$root"
if ! command -v clang-format >/dev/null; then
    echo "clang-format is not installed (scripts/install-deps installs it)" >&2
    exit 1
fi

mapfile -t files < <(find sdk host plugins tests bench -type f \
    \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null | sort)
bad=()
for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'not formatted (run clang-format -i):\n' >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "${#files[@]} files formatted"
