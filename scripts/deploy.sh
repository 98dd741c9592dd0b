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

# The stacks, in the order they must be applied (cdktf stack dependencies, from the synthesized
# manifest): with Consul ACLs (the default) `mcp-router-consul` (network, Consul servers, the
# management token made at apply time) comes before `mcp-router-platform` (ACL policies and
# tokens through the Consul provider, routers, agents, HAProxy); with MCP_ACL=false there is one.
npx cdktf synth >/dev/null
stacks=$(node -e '
  const m = require("./cdktf.out/manifest.json").stacks;
  const done = new Set(), order = [];
  const visit = (n, path = []) => {
    if (done.has(n)) return;
    if (path.includes(n)) throw new Error("stack dependency cycle: " + [...path, n].join(" -> "));
    for (const d of m[n].dependencies) visit(d, [...path, n]);
    done.add(n); order.push(n);
  };
  Object.keys(m).sort().forEach((n) => visit(n));
  console.log(order.join(" "));
') || die "could not read the stacks from cdktf.out/manifest.json."
[ -n "$stacks" ] || die "the app synthesized no stack."

# Providers come from the Terraform registry (or your mirror) at 'terraform init' time.
for stack in $stacks; do
  out="cdktf.out/stacks/$stack"
  if ! (cd "$out" && terraform init -input=false -no-color >"/tmp/mcp-deploy-init.$stack.log" 2>&1); then
    providers=$(node -e 'const p = require(process.argv[1]).terraform.required_providers; console.log(Object.values(p).map((x) => x.source).join(", "))' "./$out/cdk.tf.json")
    echo "deploy: 'terraform init' could not install the Terraform providers of stack $stack ($providers):" >&2
    grep -E "Error|Failed|could not|registry" "/tmp/mcp-deploy-init.$stack.log" | head -5 >&2 || true
    die "the provider registry is unreachable from this machine, or no mirror is configured. Configure a provider mirror (TF_CLI_CONFIG_FILE with provider_installation) or run on a machine with registry access. Full log: /tmp/mcp-deploy-init.$stack.log"
  fi
done

# Each stack on its own, in order; the arguments after `npm run deploy --` (e.g. --var
# instanceCount=5) go to the last stack (the platform: the Consul stack declares no variable,
# and Terraform refuses a -var it does not declare).
last=""
for stack in $stacks; do last=$stack; done
run() {
  if [ -n "${MCP_DEPLOY_DRY_RUN:-}" ]; then echo "deploy: would run: $*"; else "$@"; fi
}
for stack in $stacks; do
  if [ "$stack" = "$last" ]; then break; fi
  echo "deploy: applying stack $stack" >&2
  run npx cdktf deploy "$stack" --auto-approve --skip-synth
done
echo "deploy: applying stack $last" >&2
run npx cdktf deploy "$last" --auto-approve --skip-synth --ignore-missing-stack-dependencies "$@"
