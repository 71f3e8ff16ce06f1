#!/bin/sh
# Installs the TinyBMS bridge on a Venus OS GX (docs/venus-os.md), from the folder this script
# is in (the dist folder copied to the GX): the program and its libraries go to
# /data/tinybms-bridge (kept across firmware updates), the daemontools service is linked as
# /service/tinybms-bridge, and /data/rc.local runs "install.sh --boot" at every start to link it
# again (a firmware update, or a reboot, leaves /data alone but gives a fresh /service).
# Running it again updates the program; it never adds a second line to rc.local.
#   install.sh          install or update, then start the service
#   install.sh --boot   only link the service (what rc.local does)
# DESTDIR=/some/folder installs into that folder as if it were / (tests), and leaves the
# running system alone (no svc).
set -eu

PREFIX=/data/tinybms-bridge
NAME=tinybms-bridge
MARK="# $NAME (remove with $PREFIX/uninstall.sh)"
ROOT=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)
dest="$ROOT$PREFIX"
mode=${1:-install}

case "$mode" in
install|--boot) ;;
*) echo "usage: $0 [--boot]" >&2; exit 2 ;;
esac

link_service() {
    mkdir -p "$ROOT/service"
    if [ -L "$ROOT/service/$NAME" ] || [ ! -e "$ROOT/service/$NAME" ]; then
        ln -sfn "$PREFIX/service" "$ROOT/service/$NAME"
    else
        echo "install.sh: $ROOT/service/$NAME exists and is not a link; left alone" >&2
        return 1
    fi
}

if [ "$mode" = "--boot" ]; then
    link_service
    exit 0
fi

if [ ! -x "$here/$NAME" ] || [ ! -d "$here/lib" ] || [ ! -d "$here/service" ]; then
    echo "install.sh: $here does not hold $NAME, lib/ and service/ (run it from the dist folder)" >&2
    exit 1
fi
if [ -z "$ROOT" ]; then
    arch=$(uname -m)
    case "$arch" in
    armv7*|armv8l) ;;
    *) echo "install.sh: this is $arch; the bridge is built for 32-bit ARM (armhf) Venus OS" >&2
       exit 1 ;;
    esac
fi

# Stop a running copy before its files are replaced.
if [ -z "$ROOT" ] && [ -e "/service/$NAME" ] && command -v svc >/dev/null 2>&1; then
    svc -d "/service/$NAME" || true
fi

if [ "$here" != "$dest" ]; then
    mkdir -p "$dest.new"
    cp -R "$here/." "$dest.new/"
    rm -rf "$dest.old"
    if [ -e "$dest" ]; then
        mv "$dest" "$dest.old"
    fi
    mv "$dest.new" "$dest"
    rm -rf "$dest.old"
fi
chmod 755 "$dest/$NAME" "$dest/install.sh" "$dest/uninstall.sh" "$dest/service/run" \
    "$dest/service/log/run"
mkdir -p "$ROOT/data/conf/$NAME"

# /data/rc.local: create it if needed, add our line once.
rc="$ROOT/data/rc.local"
if [ ! -f "$rc" ]; then
    printf '#!/bin/sh\n' > "$rc"
fi
chmod 755 "$rc"
if ! grep -qF "$MARK" "$rc"; then
    printf '%s --boot %s\n' "$PREFIX/install.sh" "$MARK" >> "$rc"
fi

link_service
if [ -z "$ROOT" ] && command -v svc >/dev/null 2>&1; then
    # svscan picks a new link up within 5 s; -u starts one that was only stopped.
    sleep 6
    svc -u "/service/$NAME" || true
fi
echo "installed in $dest; service /service/$NAME; configuration in /data/conf/$NAME"
