#!/bin/sh
# Removes the TinyBMS bridge from a Venus OS GX (docs/venus-os.md): stops the service, removes
# /service/tinybms-bridge, its line in /data/rc.local and /data/tinybms-bridge. The
# configuration in /data/conf/tinybms-bridge stays unless --purge is given.
# DESTDIR=/some/folder works on that folder as if it were / (tests), without svc.
set -eu

PREFIX=/data/tinybms-bridge
NAME=tinybms-bridge
MARK="# $NAME (remove with $PREFIX/uninstall.sh)"
ROOT=${DESTDIR:-}
purge=0
case "${1:-}" in
"") ;;
--purge) purge=1 ;;
*) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

# The link goes first, so that svscan does not start a new supervise; then -d stops the bridge
# and -x ends its supervise and the logger's.
if [ -L "$ROOT/service/$NAME" ]; then
    rm -f "$ROOT/service/$NAME"
fi
if [ -z "$ROOT" ] && [ -d "$PREFIX/service" ] && command -v svc >/dev/null 2>&1; then
    svc -dx "$PREFIX/service" "$PREFIX/service/log" || true
    sleep 1
fi

rc="$ROOT/data/rc.local"
if [ -f "$rc" ] && grep -qF "$MARK" "$rc"; then
    grep -vF "$MARK" "$rc" > "$rc.tmp" || true
    cat "$rc.tmp" > "$rc"
    rm -f "$rc.tmp"
fi

# This script may live in the folder it removes: sh reads a script as it goes, so the
# removal and its message are each the last command on their line.
if [ "$purge" -eq 1 ]; then
    rm -rf "$ROOT/data/conf/$NAME" "$ROOT$PREFIX"; echo "removed $PREFIX and /data/conf/$NAME"
else
    rm -rf "$ROOT$PREFIX"; echo "removed $PREFIX (configuration kept in /data/conf/$NAME)"
fi
