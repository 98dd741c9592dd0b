#!/usr/bin/env bash
# Installs the real components the tests and benchmarks run against:
#   haproxy (Debian bookworm), h2load (nghttp2-client), dig (dnsutils), ip (iproute2),
#   consul 1.8.7 from Debian's bullseye suite and HAProxy 3.0 from trixie,
#   unpacked into a cache dir without touching the system's apt configuration;
#   a Node 22 binary for the MCP conformance suite (scripts/provision-node22.sh,
#   from the npm registry), the MCP Inspector run on it (provision-mcp-inspector.sh),
#   and Debian's python3 (it reads the Python package jsii-pacmak generates).
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
# Debian's own Python parses the Python package jsii-pacmak generates (no PyPI here).
[ -x /usr/bin/python3 ] || need_apt+=(python3-minimal)

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

# --- packages of other Debian suites, private apt state ------------------------
# The Debian mirror comes from the machine's own apt configuration (never a
# hard-coded host): scripts/lib/debian-mirror.sh.
# shellcheck source=lib/debian-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"

# suite_apt SUITE: sets apt_opts to a private sources list + state dir for SUITE
# under $CACHE_DIR/apt-SUITE (the system's apt setup is not touched) and updates it.
suite_apt() {
  local suite="$1" mirror
  mirror=$(debian_mirror)
  apt_root="$CACHE_DIR/apt-$suite"
  mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/etc/preferences.d" "$apt_root/debs"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "deb [signed-by=$keyring] $mirror $suite main" > "$apt_root/etc/sources.list"
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
  apt-get "${apt_opts[@]}" update -qq >/dev/null
}

# --- consul from bullseye ------------------------------------------------------
CONSUL_BIN="$CACHE_DIR/consul/usr/bin/consul"
if [ ! -x "$CONSUL_BIN" ]; then
  echo "provision: fetching consul from the bullseye suite (private apt state in $CACHE_DIR/apt-bullseye)" >&2
  suite_apt bullseye
  (cd "$apt_root/debs" && apt-get "${apt_opts[@]}" download consul >/dev/null)
  deb=$(ls "$apt_root"/debs/consul_*.deb | head -n1)
  rm -rf "$CACHE_DIR/consul"
  dpkg -x "$deb" "$CACHE_DIR/consul"
fi
"$CONSUL_BIN" version >/dev/null || { echo "provision: $CONSUL_BIN does not run" >&2; exit 1; }

# --- HAProxy 3.0 from trixie (the configs must pass haproxy -c on 2.6 and 3.0) ---
# trixie's haproxy needs a newer glibc and OpenSSL than bookworm has, so its
# shared-library dependencies (the lib* packages of its dependency closure) are
# unpacked beside it and it runs under trixie's own dynamic loader with that
# library path, through a small wrapper script. Nothing is installed system-wide.
HAPROXY30_DIR="$CACHE_DIR/haproxy-3.0"
HAPROXY30_BIN="$HAPROXY30_DIR/haproxy"
# (Version output is captured before matching: grep -q closing the pipe early would fail it under pipefail.)
haproxy30_version() { "$HAPROXY30_BIN" -v 2>&1 | head -n1 || true; }
if [ ! -x "$HAPROXY30_BIN" ] || [[ "$(haproxy30_version)" != "HAProxy version 3.0."* ]]; then
  echo "provision: fetching haproxy 3.0 and its shared libraries from the trixie suite (private apt state in $CACHE_DIR/apt-trixie)" >&2
  suite_apt trixie
  # Dependency closure restricted to shared-library packages (lib*, zlib1g).
  want=(haproxy)
  seen=" haproxy "
  i=0
  while [ "$i" -lt "${#want[@]}" ]; do
    for dep in $(apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "${want[$i]}" 2>/dev/null \
                 | awk '$1 ~ /^(Pre)?Depends:$/ {print $2}' | sed 's/:any$//' | grep -E '^(lib|zlib1g)' | grep -v '^<' | sort -u); do
      case "$seen" in *" $dep "*) ;; *) seen+="$dep "; want+=("$dep") ;; esac
    done
    i=$((i + 1))
  done
  rm -rf "$apt_root/debs" && mkdir -p "$apt_root/debs"
  (cd "$apt_root/debs" && apt-get "${apt_opts[@]}" download "${want[@]}" >/dev/null)
  rm -rf "$HAPROXY30_DIR" && mkdir -p "$HAPROXY30_DIR/root"
  for deb in "$apt_root"/debs/*.deb; do dpkg -x "$deb" "$HAPROXY30_DIR/root"; done
  loader=$(find "$HAPROXY30_DIR/root" -name 'ld-linux*.so.*' \( -type f -o -type l \) | sort | head -n1)
  [ -n "$loader" ] || { echo "provision: trixie's libc6 brought no dynamic loader into $HAPROXY30_DIR/root" >&2; exit 1; }
  libpath=$(find "$HAPROXY30_DIR/root" -name 'lib*.so*' -not -path '*/gdb/*' \( -type f -o -type l \) -printf '%h\n' | sort -u | paste -sd:)
  cat > "$HAPROXY30_BIN" <<WRAPPER
#!/bin/sh
# HAProxy 3.0 from Debian trixie, run with trixie's loader and libraries (see scripts/provision-test-tools.sh).
exec "$loader" --library-path "$libpath" "$HAPROXY30_DIR/root/usr/sbin/haproxy" "\$@"
WRAPPER
  chmod +x "$HAPROXY30_BIN"
fi
[[ "$(haproxy30_version)" == "HAProxy version 3.0."* ]] || { echo "provision: $HAPROXY30_BIN does not run as HAProxy 3.0: $("$HAPROXY30_BIN" -v 2>&1 | head -n3)" >&2; exit 1; }

# --- node 22 for the MCP conformance suite (the project stays on Node 20) ---
node22_line=$(bash "$(dirname "${BASH_SOURCE[0]}")/provision-node22.sh")
# --- the MCP Inspector (CLI mode, run on that Node 22) -----------------------------
inspector_line=$(bash "$(dirname "${BASH_SOURCE[0]}")/provision-mcp-inspector.sh")

echo "haproxy=$(command -v haproxy)"
echo "h2load=$(command -v h2load)"
echo "dig=$(command -v dig)"
echo "consul=$CONSUL_BIN"
echo "ip=$(command -v ip)"
echo "unshare=$(command -v unshare)"
echo "$node22_line"
echo "$inspector_line"
echo "haproxy30=$HAPROXY30_BIN"
echo "python3=/usr/bin/python3"
