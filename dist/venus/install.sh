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

if [ ! -x "$here/$NAME" ] || [ ! -d "$here/lib" ] || [ ! -d "$here/licenses" ] ||
    [ ! -f "$here/service/run" ] || [ ! -f "$here/service/log/run" ]; then
    echo "install.sh: $here does not hold $NAME, lib/, licenses/ and service/ (run it from the dist folder)" >&2
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

# Files are replaced in place, each by a rename: the service folder itself stays, since
# daemontools' supervise runs inside it (its supervise/ folders and the running logger too).
put() { # put SRC DST MODE: copy beside DST, then rename over it
    cp "$1" "$2.new"
    chmod "$3" "$2.new"
    mv -f "$2.new" "$2"
}
if [ "$here" != "$dest" ]; then
    mkdir -p "$dest/service/log"
    for dir in lib licenses; do
        rm -rf "$dest/$dir.new" "$dest/$dir.old"
        cp -R "$here/$dir" "$dest/$dir.new"
        if [ -e "$dest/$dir" ]; then
            mv "$dest/$dir" "$dest/$dir.old"
        fi
        mv "$dest/$dir.new" "$dest/$dir"
        rm -rf "$dest/$dir.old"
    done
    put "$here/$NAME" "$dest/$NAME" 755
    put "$here/install.sh" "$dest/install.sh" 755
    put "$here/uninstall.sh" "$dest/uninstall.sh" 755
    put "$here/service/run" "$dest/service/run" 755
    put "$here/service/log/run" "$dest/service/log/run" 755
fi
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
