# Sourced by the provisioning scripts. Prints the Debian mirror URI this machine's
# apt uses for its main suite, read from /etc/apt/sources.list{,.d} at run time
# (never hard-coded), or fails saying why.
debian_mirror() {
  local mirror="" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # First URI of a deb822 stanza whose Suites names a plain suite (bookworm, not -security).
    mirror=$(awk '
      /^URIs:/ {uri=$2}
      /^Suites:/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+$/ && uri !~ /security/) {print uri; exit} }
    ' "$f")
    [ -n "$mirror" ] && break
  done
  if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      # One-line form: deb [options] URI suite components
      mirror=$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) { if ($i !~ /security/) {print $i; exit} else break } }' "$f")
      [ -n "$mirror" ] && break
    done
  fi
  if [ -z "$mirror" ]; then
    echo "could not derive a Debian mirror from /etc/apt/sources.list{,.d}" >&2
    return 1
  fi
  printf '%s\n' "$mirror"
}
