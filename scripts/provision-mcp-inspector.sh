#!/usr/bin/env bash
# Installs the MCP Inspector (@modelcontextprotocol/inspector, pinned) into the tools
# cache for the test that drives the platform with it, as its users run it: its CLI mode,
# on Node 22 (the Inspector 2.x needs Node >= 22.19; the project stays on Node 20 and the
# tests run it with the Node 22 from scripts/provision-node22.sh). Installed with the
# ordinary npm client and its registry config; no registry host is named here. The
# package's postinstall (it fetches nothing the CLI needs) is not run.
# Idempotent. Prints `inspector=<launcher path>`; exits non-zero saying what failed.
set -euo pipefail

INSPECTOR_VERSION="${MCP_INSPECTOR_VERSION:-2.12.0}"
CACHE_DIR="${MCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-router-platform}"
dest="$CACHE_DIR/mcp-inspector-$INSPECTOR_VERSION"
launcher="$dest/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"

if [ ! -f "$launcher" ]; then
  command -v npm >/dev/null 2>&1 || { echo "provision-mcp-inspector: npm is not on PATH" >&2; exit 1; }
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  echo "provision-mcp-inspector: npm install @modelcontextprotocol/inspector@$INSPECTOR_VERSION into $dest" >&2
  if ! (cd "$dest.tmp" && echo '{"name":"mcp-inspector-cache","private":true}' > package.json \
        && npm install --silent --no-audit --no-fund --ignore-scripts --engine-strict=false "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >/dev/null); then
    echo "provision-mcp-inspector: npm install of @modelcontextprotocol/inspector@$INSPECTOR_VERSION failed (is the npm registry reachable with this machine's npm config?)" >&2
    exit 1
  fi
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
[ -f "$launcher" ] || { echo "provision-mcp-inspector: $launcher is missing after the install" >&2; exit 1; }
echo "inspector=$launcher"
