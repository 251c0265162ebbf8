#!/usr/bin/env bash
# ssh_loop.sh: the plain OpenSSH fan-out people write by hand, one `ssh` per
# host in the background, then wait for all of them.
#
#   ssh_loop.sh OUTDIR INPUT REMOTE_COMMAND [SSH_OPTION...] -- HOST...
#
# Each host's stdout goes to OUTDIR/HOST and its stderr to OUTDIR/HOST.err;
# INPUT is the ssh's stdin (/dev/null, or a file to upload). The exit status
# is 1 when any ssh failed. In short, with SSH_OPTION = -F ssh_config:
#
#   for h in $HOSTS; do ssh -F ssh_config "$h" uname -n >"out/$h" & done; wait
set -u

out=$1 input=$2 remote=$3
shift 3
opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	opts+=("$1")
	shift
done
[ $# -gt 0 ] && shift # the --

pids=()
for h in "$@"; do
	ssh "${opts[@]}" "$h" "$remote" <"$input" >"$out/$h" 2>"$out/$h.err" &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do
	wait "$p" || status=1
done
exit $status
