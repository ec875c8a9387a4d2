#!/usr/bin/env bash
# Usage: scripts/inotify-room.sh WATCHES — makes sure WATCHES more `cargo lambda watch`es of every
# function (and a few spare each) can open their inotify instances as this user.
# `cargo lambda watch` opens one per function it starts (its file watcher, even with
# --ignore-changes), and a function whose watcher cannot be opened never starts: its requests
# wait forever, with nothing logged. Linux allows 128 per user by default; `make dev` needs ~60
# and `make test` runs three such stacks side by side. Root raises the limit (until reboot);
# anyone else is told how to.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
functions=("$root"/functions/src/bin/*.rs)
need=$(($1 * (${#functions[@]} + 8)))
# INOTIFY_LIMIT_FILE: another file in its place (the tests).
limit_file="${INOTIFY_LIMIT_FILE:-/proc/sys/fs/inotify/max_user_instances}"
[ -r "$limit_file" ] || exit 0
limit="$(cat "$limit_file")"
# Those of our own processes (the limit is per user; another user's are not readable anyway).
used="$( (find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null || true) | wc -l)"
[ $((limit - used)) -ge "$need" ] && exit 0
want=$((used + need))
[ "$want" -ge 1024 ] || want=1024
if [ -w "$limit_file" ]; then
  echo "$want" >"$limit_file"
  echo "==> raised fs.inotify.max_user_instances from $limit to $want (cargo lambda watch opens one per function)"
  exit 0
fi
echo "cargo lambda watch opens an inotify instance per function: $need more are needed, but $used of this" >&2
echo "user's $limit are in use. Raise the limit, e.g.: sudo sysctl fs.inotify.max_user_instances=$want" >&2
exit 1
