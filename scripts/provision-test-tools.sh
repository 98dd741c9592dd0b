#!/usr/bin/env bash
# Installs the real components the tests and benchmarks run against:
#   haproxy (Debian bookworm), h2load (nghttp2-client), dig (dnsutils), ip (iproute2), and
#   consul 1.8.7 from Debian's bullseye suite, unpacked into a cache dir
#   without touching the system's apt configuration; and a Node 22 binary for the
#   MCP conformance suite (scripts/provision-node22.sh, from the npm registry).
# Idempotent; prints where each tool is. Exits non-zero saying what failed.
set -euo pipefail

CACHE_DIR="${MCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-router-platform}"
mkdir -p "$CACHE_DIR"

need_apt=()
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
command -v h2load  >/dev/null 2>&1 || need_apt+=(nghttp2-client)
command -v dig     >/dev/null 2>&1 || need_apt+=(dnsutils)
# `ip` brings up loopback in the network namespace the MCP conformance suite runs in.
command -v ip      >/dev/null 2>&1 || need_apt+=(iproute2)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "provision: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "provision: apt-get install ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# --- consul from bullseye, private apt state ---------------------------------
CONSUL_BIN="$CACHE_DIR/consul/usr/bin/consul"
if [ ! -x "$CONSUL_BIN" ]; then
  # Derive the Debian mirror from the machine's own apt configuration.
  mirror=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # First URI of a stanza whose Suites names the bookworm main suite.
    mirror=$(awk '
      /^URIs:/ {uri=$2}
      /^Suites:/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+$/ && uri !~ /security/) {print uri; exit} }
    ' "$f")
    [ -n "$mirror" ] && break
  done
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $2 !~ /security/ && $2 ~ /^https?:/ {print $2; exit}' /etc/apt/sources.list)
  fi
  if [ -z "$mirror" ]; then
    echo "provision: could not derive a Debian mirror from /etc/apt/sources.list{,.d}; cannot fetch consul" >&2
    exit 1
  fi
  apt_root="$CACHE_DIR/apt-bullseye"
  mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/etc/preferences.d" "$apt_root/debs"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "deb [signed-by=$keyring] $mirror bullseye main" > "$apt_root/etc/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$apt_root/etc/sources.list"
    -o "Dir::Etc::SourceParts=-"
    -o "Dir::Etc::Preferences=$apt_root/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_root/etc/preferences.d"
    -o "Dir::State::Lists=$apt_root/lists"
    -o "Dir::State::Status=/dev/null"
    -o "Dir::Cache=$apt_root/cache"
    -o "APT::Architecture=$(dpkg --print-architecture)"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
  )
  echo "provision: fetching consul from the bullseye suite (private apt state in $apt_root)" >&2
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$apt_root/debs" && apt-get "${apt_opts[@]}" download consul >/dev/null)
  deb=$(ls "$apt_root"/debs/consul_*.deb | head -n1)
  rm -rf "$CACHE_DIR/consul"
  dpkg -x "$deb" "$CACHE_DIR/consul"
fi
"$CONSUL_BIN" version >/dev/null || { echo "provision: $CONSUL_BIN does not run" >&2; exit 1; }

# --- node 22 for the MCP conformance suite (the project stays on Node 20) ---
node22_line=$(bash "$(dirname "${BASH_SOURCE[0]}")/provision-node22.sh")

echo "haproxy=$(command -v haproxy)"
echo "h2load=$(command -v h2load)"
echo "dig=$(command -v dig)"
echo "consul=$CONSUL_BIN"
echo "ip=$(command -v ip)"
echo "unshare=$(command -v unshare)"
echo "$node22_line"
