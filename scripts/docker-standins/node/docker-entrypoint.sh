#!/bin/sh
# Entrypoint of the Node stand-in image. Same contract as the official image's: when the
# first argument is an option ("-e ...") or not a command on PATH (a script such as
# "main.js"), run it with node; otherwise run the command as given.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
