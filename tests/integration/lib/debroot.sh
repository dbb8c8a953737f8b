#!/bin/sh
# Installs, upgrades and purges the Parley package in a throwaway root, for
# tests/integration/deb.test.mjs: run as root by unshare(1) in a mount
# namespace of its own, it mounts a tmpfs, an overlay of / on it (writes
# land in the tmpfs: the real system's files and dpkg database are never
# written) and chroots there with /dev and /proc, so dpkg, the maintainer
# scripts, systemd-sysusers and man run as on a real system.
#
#   debroot.sh WORKDIR OLD.deb NEW.deb
#
# Prints each step's results between "=== name" lines for the test to
# read; exits non-zero at the first step that fails (set -e).
set -eu

work=$1 old=$2 new=$3
mount -t tmpfs -o mode=0755 tmpfs "$work"
mkdir "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
mount --rbind /dev "$work/root/dev"
mount -t proc proc "$work/root/proc"
# No systemd running in there: the maintainer scripts start nothing.
mount -t tmpfs tmpfs "$work/root/run"
mount -t tmpfs tmpfs "$work/root/tmp"
# man-db's trigger would index every manual page of the system at each step.
rm -f "$work/root/var/lib/man-db/auto-update"
cp "$old" "$work/root/tmp/old.deb"
cp "$new" "$work/root/tmp/new.deb"

exec chroot "$work/root" /bin/sh -eu -c '
export LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
step() { echo "=== $1"; }

step install
dpkg -i /tmp/old.deb </dev/null 2>&1
step version
dpkg-query -W -f="\${Version}\n" parley
step files
stat -c "%a %U %n" /usr/sbin/parley-masterd /usr/sbin/parley-workerd /usr/sbin/parley-fetch /usr/sbin/parley-storaged /usr/sbin/parleyctl \
    /lib/systemd/system/parley.service /lib/systemd/system/parley-storaged.service /lib/systemd/system/parley.socket \
    /usr/lib/sysusers.d/parley.conf /usr/share/doc/parley/README.md.gz /usr/share/doc/parley/changelog.gz \
    /usr/share/doc/parley/copyright /usr/share/parley/widget/dist/chat-widget.js /usr/share/parley/dashboard/index.html \
    /usr/share/man/man8/parley.8.gz /usr/share/man/man8/parley-masterd.8.gz /usr/share/man/man5/parley.env.5.gz \
    /etc/parley/parley.env
step conffiles
dpkg-query -W -f="\${Conffiles}\n" parley
step user
getent passwd parley
step debug-sections
for b in parley-masterd parley-workerd parley-fetch parley-storaged parleyctl; do
	printf "%s %s\n" "$b" "$(readelf -S /usr/sbin/$b | grep -c -e "\.debug_info" -e "\.symtab" || true)"
done
step versions
for b in parley-masterd parley-workerd parley-fetch parley-storaged parleyctl; do /usr/sbin/$b --version; done
step man
for p in parley-masterd parley-workerd parley-fetch parley-storaged parley parleyctl; do
	MANPAGER=cat MANWIDTH=80 man -l /usr/share/man/man8/$p.8.gz 2>&1 | head -n 4
done
MANPAGER=cat MANWIDTH=80 man -l /usr/share/man/man5/parley.env.5.gz 2>&1 | head -n 4
step check
/usr/sbin/parley-masterd --check /etc/parley/parley.env 2>&1 && echo "check passed" || echo "check failed"

# The owner edits the environment file; storaged would have made its data.
echo "# edited by the owner" >> /etc/parley/parley.env
mkdir -p /var/lib/parley && echo data > /var/lib/parley/data.mdb

step upgrade
dpkg -i /tmp/new.deb </dev/null 2>&1
step upgraded-version
dpkg-query -W -f="\${Version}\n" parley
step upgraded-env
tail -n 1 /etc/parley/parley.env
stat -c %a /etc/parley/parley.env

step purge
dpkg --purge parley </dev/null 2>&1
step purged
dpkg-query -W -f="\${Status}\n" parley 2>&1 || true
for f in /etc/parley /var/lib/parley /usr/sbin/parley-masterd /usr/share/parley; do
	[ -e "$f" ] && echo "left $f" || echo "gone $f"
done
getent passwd parley >/dev/null && echo "user kept" || echo "user gone"
step end
'
