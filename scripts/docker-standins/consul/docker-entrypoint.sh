#!/usr/bin/dumb-init /bin/sh
# Entrypoint of the Consul stand-in image. Same contract as the official image's:
# dumb-init is PID 1; `agent ARGS` runs `consul agent -data-dir=$CONSUL_DATA_DIR
# -config-dir=$CONSUL_CONFIG_DIR ARGS`; an argument list starting with "-" or naming a
# consul subcommand runs consul; consul itself runs as the unprivileged "consul" user
# after the data and config dirs are handed to it.
set -e
CONSUL_DATA_DIR=${CONSUL_DATA_DIR:-/consul/data}
CONSUL_CONFIG_DIR=${CONSUL_CONFIG_DIR:-/consul/config}

if [ -n "$CONSUL_LOCAL_CONFIG" ]; then
  printf '%s\n' "$CONSUL_LOCAL_CONFIG" > "$CONSUL_CONFIG_DIR/local.json"
fi

case "$1" in
  -*) set -- consul "$@" ;;
esac

if [ "$1" = agent ]; then
  shift
  set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$@"
elif [ "$1" = version ]; then
  set -- consul version
elif [ -n "$1" ] && consul "$1" -h 2>&1 | grep -q "consul $1"; then
  set -- consul "$@"
fi

if [ "$1" = consul ] && [ "$(id -u)" = 0 ]; then
  uid=$(id -u consul); gid=$(id -g consul)
  for d in "$CONSUL_DATA_DIR" "$CONSUL_CONFIG_DIR"; do
    [ "$(stat -c %u "$d")" = "$uid" ] || chown "$uid:$gid" "$d"
  done
  set -- setpriv --reuid="$uid" --regid="$gid" --init-groups "$@"
fi
exec "$@"
