#!/usr/bin/env bash
# install-deps.sh installs what opsui's build, tests and demo need that a
# fresh machine may lack: Go (the version go.mod names), OpenSSH's server and
# client (the tests run real sshd hosts on loopback), tmux (end-to-end tests
# of the console), git, and the real web stack the deploy tests and the demo
# run: Django and gunicorn from Debian's packages (seen by /usr/bin/python3,
# which release virtualenvs are made from with --system-site-packages, so no
# package index is needed at deploy time), python3-venv and nginx (the load
# balancer), and memcached, redis-server and netcat (the cache flush tests
# start their own servers and flush them through nc, redis-cli and python3;
# the packages' system services are not needed), sudo and supervisor (the
# tests log in as an ordinary deploy user with sudoers files of their own,
# and start a supervisord per host) and postgresql (the store's tests start
# their own server with initdb and pg_ctl as the postgres user; the
# package's cluster and service are not needed), python3-celery and
# python3-redis (a real Celery worker with a Redis broker as the app's
# worker role), and systemd (its systemd-analyze checks the units opsui
# renders). Debian/Ubuntu use apt,
# macOS uses Homebrew. It installs only what is missing, so running it again
# costs nothing.
# With --bench it also installs the tools the benchmarks compare opsui with
# (parallel-ssh, Fabric, Capistrano: BenchmarkDeployVsCapistrano runs
# Debian's cap 3.17).
set -euo pipefail

bench=false
[ "${1:-}" = "--bench" ] && bench=true

cd "$(dirname "$0")/.."
go_version=$(awk '/^go [0-9]/ {print $2}' go.mod)

sudo_cmd() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian() {
	local want=(openssh-server openssh-client tmux git ca-certificates curl
		python3 python3-venv python3-pip python3-setuptools python3-django gunicorn nginx memcached redis-server netcat-openbsd haproxy sudo supervisor postgresql python3-celery python3-redis systemd procps)
	$bench && want+=(pssh python3-fabric capistrano)
	local missing=()
	for p in "${want[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "install-deps: installing ${missing[*]}"
		sudo_cmd apt-get update -qq
		sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# The package enables an sshd on port 22; the tests need only the binary.
	# Leave a system sshd that was already there alone.
	sudo_cmd mkdir -p /run/sshd
	# Likewise nginx may start a system server on port 80 where systemd runs;
	# the tests start their own nginx processes with their own config.
	# memcached and redis-server likewise: the flush tests start their own.
	# postgresql likewise: internal/pgtest runs initdb and pg_ctl from
	# /usr/lib/postgresql/<version>/bin as the postgres user.
}

install_macos() {
	command -v brew >/dev/null || { echo "install-deps: Homebrew is needed on macOS: https://brew.sh" >&2; exit 1; }
	for p in tmux git nginx; do
		command -v "$p" >/dev/null || brew install "$p"
	done
	# macOS ships /usr/sbin/sshd and ssh. Django 3.2 and gunicorn are not in
	# Homebrew; the web tests look for Debian's /usr/sbin/nginx,
	# /usr/bin/gunicorn and /usr/bin/python3 with Django, and skip without
	# them. To run the demo app by hand:
	#   python3 -m venv ~/.venvs/opsui && ~/.venvs/opsui/bin/pip install 'Django>=3.2,<4' 'gunicorn>=20.1'
	# PostgreSQL: the store's tests start their own server as the user
	# "postgres" with runuser, which macOS lacks, so they skip there. For a
	# team store, run `brew install postgresql@15` (or use a server the team
	# already runs) and point opsui at it: --db postgres://user@host/opsui.
}

have_go() {
	command -v go >/dev/null || return 1
	# Go 1.21+ fetches the toolchain go.mod asks for by itself.
	local v
	v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
	[ "$(printf '%s\n1.21\n' "$v" | sort -V | head -1)" = "1.21" ]
}

install_go() {
	have_go && return 0
	echo "install-deps: installing Go $go_version"
	case "$(uname -s)" in
	Darwin) brew install go ;;
	Linux)
		local arch
		case "$(uname -m)" in
		x86_64) arch=amd64 ;;
		aarch64 | arm64) arch=arm64 ;;
		*) echo "install-deps: no Go download for $(uname -m); install Go $go_version yourself" >&2; exit 1 ;;
		esac
		curl -fsSL "https://go.dev/dl/go${go_version}.linux-${arch}.tar.gz" -o /tmp/go.tar.gz
		sudo_cmd rm -rf /usr/local/go
		sudo_cmd tar -C /usr/local -xzf /tmp/go.tar.gz
		rm -f /tmp/go.tar.gz
		echo "install-deps: Go is in /usr/local/go/bin; add it to your PATH"
		;;
	esac
}

case "$(uname -s)" in
Linux)
	command -v apt-get >/dev/null || { echo "install-deps: this script knows apt (Debian/Ubuntu) and Homebrew (macOS)" >&2; exit 1; }
	install_debian
	;;
Darwin) install_macos ;;
*) echo "install-deps: unsupported system $(uname -s)" >&2; exit 1 ;;
esac
install_go
