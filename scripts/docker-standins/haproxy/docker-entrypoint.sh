#!/bin/sh
# Entrypoint of the HAProxy stand-in image. Same contract as the official image's:
# arguments starting with "-" are HAProxy's; a `haproxy ...` command gets -W (master-worker,
# reload with SIGUSR2) and -db (stay in the foreground) in front of its own arguments.
set -e
case "$1" in
  -*) set -- haproxy "$@" ;;
esac
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
