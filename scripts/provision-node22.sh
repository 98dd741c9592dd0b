#!/usr/bin/env bash
# Installs a Node 22 binary for the MCP conformance suite (@modelcontextprotocol/conformance
# needs fs.globSync, i.e. Node >= 22) WITHOUT changing the project's Node 20: the npm
# registry package `node-linux-<arch>@<version>` is fetched with the ordinary npm client
# (`npm pack`, which checks the tarball against the registry's integrity hash) and
# unpacked into the tools cache. Nothing else is downloaded; no registry host is named here.
# Idempotent. Prints `node22=<path>`; exits non-zero saying what failed.
set -euo pipefail

NODE22_VERSION="${MCP_NODE22_VERSION:-22.23.5}"
CACHE_DIR="${MCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-router-platform}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "provision-node22: no node-linux-* package for $(uname -m)" >&2; exit 1 ;;
esac
dest="$CACHE_DIR/node-$NODE22_VERSION-linux-$arch"
bin="$dest/package/bin/node"

if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "v$NODE22_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "provision-node22: npm is not on PATH" >&2; exit 1; }
  tmp=$(mktemp -d "$CACHE_DIR/node22.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "provision-node22: npm pack node-linux-$arch@$NODE22_VERSION into $dest" >&2
  if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE22_VERSION" >/dev/null); then
    echo "provision-node22: npm pack node-linux-$arch@$NODE22_VERSION failed (is the npm registry reachable with this machine's npm config?)" >&2
    exit 1
  fi
  tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp"
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$tmp/package" "$dest/package"
fi
got=$("$bin" --version 2>/dev/null || true)
if [ "$got" != "v$NODE22_VERSION" ]; then
  echo "provision-node22: $bin does not run as v$NODE22_VERSION (got '${got:-nothing}')" >&2
  exit 1
fi
echo "node22=$bin"
