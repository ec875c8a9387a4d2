#!/usr/bin/env bash
# Installs every tool the dev stack and the tests need, idempotently, under .cache/ (git-ignored).
# A stamp per group records what was installed, so a second run does nothing.
# Usage: scripts/tools.sh [python] [node] [iac] [fuzz] [stripe] [moto] [browser]   (default: python node)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
mkdir -p "$cache"
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(python node)

stamp_ok() { [ -f "$cache/$1.stamp" ] && [ "$(cat "$cache/$1.stamp")" = "$2" ]; }

# install_venv NAME REQUIREMENTS: a venv at .cache/NAME with REQUIREMENTS installed.
install_venv() {
  local name="$1" req="$root/tools/$2" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  stamp_ok "$name" "$want" && return
  echo "==> installing $(basename "$req") into .cache/$name"
  [ -x "$cache/$name/bin/python" ] || python3 -m venv "$cache/$name"
  "$cache/$name/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$cache/$name.stamp"
}

install_node() {
  local want
  want="$( (cat "$root/tools/package.json"; cat "$root/tools/package-lock.json" 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
  stamp_ok node "$want" && return
  echo "==> installing Node tools into .cache/node"
  mkdir -p "$cache/node"
  cp "$root/tools/package.json" "$cache/node/"
  if [ -f "$root/tools/package-lock.json" ]; then
    cp "$root/tools/package-lock.json" "$cache/node/"
    (cd "$cache/node" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$cache/node" && npm install --no-audit --no-fund --loglevel=error)
  fi
  echo "$want" > "$cache/node.stamp"
}

install_java() {
  command -v java >/dev/null && return
  echo "==> installing Java (DynamoDB Local needs it)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
}

install_browser() {
  [ -x /usr/bin/chromium ] && return
  echo "==> installing Debian chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The venvs install side by side (each into its own folder); apt and npm go one after the other.
pids=()
apt_groups=()
for g in "${groups[@]}"; do
  case "$g" in
    python) install_venv venv requirements.txt & pids+=($!) ;;
    iac) install_venv venv-checkov requirements-checkov.txt & pids+=($!) ;;
    fuzz) install_venv venv-fuzz requirements-fuzz.txt & pids+=($!) ;;
    stripe) install_venv venv-stripe requirements-stripe.txt & pids+=($!) ;;
    moto) install_venv venv-moto requirements-moto.txt & pids+=($!) ;;
    node|browser) apt_groups+=("$g") ;;
    *) echo "unknown tool group: $g" >&2; exit 2 ;;
  esac
done
for g in "${apt_groups[@]}"; do
  case "$g" in
    node) install_java; install_node ;;
    browser) install_browser ;;
  esac
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit "$failed"
