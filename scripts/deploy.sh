#!/usr/bin/env bash
# `npm run deploy [-- cdktf deploy args]`: preflight, then `cdktf deploy`.
# Fails fast, saying what is missing, when Terraform, the Docker daemon or the
# Terraform providers cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1

die() { echo "deploy: $*" >&2; exit 1; }

command -v terraform >/dev/null 2>&1 || die "terraform is not installed (need >= 1.5 on PATH). Install it from your distribution or HashiCorp, then re-run."
[ -d node_modules/cdktf-cli ] || die "node_modules is missing: run 'npm ci' first."

host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
case "$host" in
  unix://*)
    sock="${host#unix://}"
    [ -S "$sock" ] || die "no Docker daemon socket at $sock (DOCKER_HOST=$host). Start Docker (e.g. 'systemctl start docker' or 'dockerd &') or set DOCKER_HOST."
    if command -v curl >/dev/null 2>&1; then
      curl -fsS --max-time 5 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 \
        || die "the Docker daemon at $sock does not answer /_ping. Is dockerd running, and may this user use the socket?"
    fi
    ;;
  tcp://*|ssh://*|npipe://*)
    if command -v docker >/dev/null 2>&1; then
      docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1 \
        || die "the Docker daemon at $host does not answer ('docker -H $host version' failed)."
    else
      case "$host" in
        ssh://*)
          # The provider reaches the daemon through 'ssh ... docker system dial-stdio'.
          command -v ssh >/dev/null 2>&1 || die "DOCKER_HOST=$host needs an ssh client on PATH (and the docker CLI on the remote host)."
          ;;
        tcp://*)
          if [ -z "${DOCKER_TLS_VERIFY:-}" ] && command -v curl >/dev/null 2>&1; then
            curl -fsS --max-time 5 "http://${host#tcp://}/_ping" >/dev/null 2>&1 \
              || die "the Docker daemon at $host does not answer /_ping."
          fi
          ;;
      esac
    fi
    ;;
  *) die "DOCKER_HOST must start with unix://, tcp://, ssh:// or npipe://; received '$host'." ;;
esac

# Providers come from the Terraform registry at 'terraform init' time.
out=cdktf.out/stacks/mcp-router-platform
npx cdktf synth >/dev/null
if ! (cd "$out" && terraform init -input=false -no-color >/tmp/mcp-deploy-init.log 2>&1); then
  echo "deploy: 'terraform init' could not install the Terraform providers (kreuzwerker/docker, hashicorp/random):" >&2
  grep -E "Error|Failed|could not|registry" /tmp/mcp-deploy-init.log | head -5 >&2 || true
  die "the provider registry is unreachable from this machine, or no mirror is configured. Configure a provider mirror (TF_CLI_CONFIG_FILE with provider_installation) or run on a machine with registry access. Full log: /tmp/mcp-deploy-init.log"
fi

exec npx cdktf deploy --auto-approve "$@"
