#!/usr/bin/env bash
# A CA and certificates for a small Parley cluster (docs/cluster-tls.md):
# storaged's TLS listener and its clients (workers, parleyctl) verify each
# other against the CA (PARLEY_CLUSTER_CA, _CERT, _KEY).
#
#   scripts/cluster-certs.sh DIR --storaged NAME[=ADDR,...] ... \
#       --front NAME[=ADDR,...] ...
#
# Each NAME takes the role of the --storaged or --front before it, in its
# subject's OU: storaged lets a host be anything to another storaged (a
# standby among them); front is every client but a standby (workers, the
# notifier, the fetcher, parleyctl). A NAME before either stops the script.
# DIR/ca.pem and DIR/ca.key (0600) are made unless both exist already
# (then they sign the new nodes: a node added later joins the same CA).
# Per NAME: DIR/NAME.pem and DIR/NAME.key (0600), an EC P-256 key, valid
# a year, subject OU=ROLE and CN=NAME, extendedKeyUsage serverAuth and
# clientAuth (a node may be both), subjectAltName DNS:NAME plus each ADDR
# (an IP address, or a DNS name).
# Nothing is ever overwritten: a NAME whose files exist stops the script
# before it makes anything. Needs bash and the openssl command line.
set -euo pipefail

usage() {
	echo "usage: $0 DIR --storaged|--front NAME[=IP-or-DNS,...] ..." >&2
	echo "  e.g. $0 /etc/parley/cluster --storaged db1=10.0.0.5 db2=10.0.0.6 --front web1 web2" >&2
	exit 2
}

die() {
	echo "cluster-certs: $*" >&2
	exit 1
}

[ $# -ge 2 ] || usage
dir=$1
shift
command -v openssl >/dev/null || die "the openssl command is not installed"

# A name: letters, digits, dots and dashes (a DNS label, or a node name).
valid_name() {
	[[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]]
}

is_ip() {
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || [[ $1 =~ ^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$ ]]
}

# subjectAltName of "NAME[=A,B]": DNS:NAME, then IP:A or DNS:A each.
san_of() {
	local name=${1%%=*} rest="" a san
	san="DNS:$name"
	[[ $1 == *=* ]] && rest=${1#*=}
	IFS=, read -r -a addrs <<<"$rest"
	for a in "${addrs[@]}"; do
		[ -n "$a" ] || continue
		if is_ip "$a"; then
			san="$san,IP:$a"
		elif valid_name "$a"; then
			san="$san,DNS:$a"
		else
			die "$1: \"$a\" is neither an IP address nor a DNS name"
		fi
	done
	echo "$san"
}

# The NAMEs (specs) and their roles, in order.
specs=()
roles=()
role=""
for arg in "$@"; do
	case $arg in
	--storaged) role=storaged ;;
	--front) role=front ;;
	-*) usage ;;
	*)
		[ -n "$role" ] || die "\"$arg\": no role: put --storaged or --front before it"
		specs+=("$arg")
		roles+=("$role")
		;;
	esac
done
[ ${#specs[@]} -ge 1 ] || usage

# Check everything before making anything.
for spec in "${specs[@]}"; do
	name=${spec%%=*}
	valid_name "$name" || die "\"$name\": a name is letters, digits, dots and dashes"
	[ "$name" != ca ] || die "\"ca\" is the CA's own file name: pick another"
	for f in "$dir/$name.pem" "$dir/$name.key"; do
		[ ! -e "$f" ] || die "$f exists: not overwritten (remove it first)"
	done
	san_of "$spec" >/dev/null
done
if [ -e "$dir/ca.pem" ] && [ ! -e "$dir/ca.key" ] ||
    { [ ! -e "$dir/ca.pem" ] && [ -e "$dir/ca.key" ]; }; then
	die "$dir has only one of ca.pem and ca.key: not overwritten"
fi

umask 077
mkdir -p "$dir"
made=()
if [ -e "$dir/ca.pem" ]; then
	echo "cluster-certs: signing with the existing CA $dir/ca.pem"
else
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$dir/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 \
	    -subj "/CN=Parley cluster CA" \
	    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -out "$dir/ca.pem"
	chmod 0600 "$dir/ca.key"
	chmod 0644 "$dir/ca.pem"
	made+=("$dir/ca.pem (the CA: every node gets a copy)"
	    "$dir/ca.key (the CA's key: keep it off the nodes)")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in "${!specs[@]}"; do
	spec=${specs[$i]}
	role=${roles[$i]}
	name=${spec%%=*}
	san=$(san_of "$spec")
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$dir/$name.key" 2>/dev/null
	openssl req -new -key "$dir/$name.key" -subj "/OU=$role/CN=$name" \
	    -out "$tmp/$name.csr"
	cat >"$tmp/$name.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EOF
	openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.pem" \
	    -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
	    -days 365 -sha256 -extfile "$tmp/$name.ext" \
	    -out "$dir/$name.pem" 2>/dev/null
	chmod 0600 "$dir/$name.key"
	chmod 0644 "$dir/$name.pem"
	made+=("$dir/$name.pem + $dir/$name.key ($role: $san)")
done
echo "cluster-certs: made"
for m in "${made[@]}"; do
	echo "  $m"
done
