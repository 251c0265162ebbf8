#!/usr/bin/env bash
# deadcode.sh fails when a function of this module is reached by no program
# and no test (golang.org/x/tools/cmd/deadcode -test: code only tests use
# counts as used), unless scripts/deadcode.allow names it. staticcheck's
# `unused` check (run by `make lint` too) finds unexported dead code;
# deadcode also finds exported functions and methods nobody calls.
#
# Usage: DEADCODE_VERSION=vX.Y.Z scripts/deadcode.sh   (make lint sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

go_cmd=${GO:-go}
version=${DEADCODE_VERSION:?set DEADCODE_VERSION (the Makefile pins it)}
allow=scripts/deadcode.allow

# One line a dead function: its qualified name, a tab, its position.
found=$("$go_cmd" run "golang.org/x/tools/cmd/deadcode@$version" -test \
	-f '{{range .Funcs}}{{$.Path}}.{{.Name}}{{"\t"}}{{.Position}}{{"\n"}}{{end}}' ./...)

# The allow-list: one qualified name a line; '#' starts a comment.
allowed=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$allow" | sort -u)

new=$(printf '%s\n' "$found" | awk -F'\t' 'NR == FNR { ok[$0] = 1; next } $1 != "" && !($1 in ok)' \
	<(printf '%s\n' "$allowed") -)
stale=$(printf '%s\n' "$allowed" | awk -F'\t' 'NR == FNR { if ($1 != "") dead[$1] = 1; next } $0 != "" && !($0 in dead)' \
	<(printf '%s\n' "$found") -)

if [ -n "$stale" ]; then
	echo "deadcode: these entries of $allow are no longer dead; remove them:"
	printf '  %s\n' $stale
fi
if [ -n "$new" ]; then
	echo "deadcode: functions no program or test reaches (delete them, or add the name to $allow with the reason):"
	printf '%s\n' "$new" | awk -F'\t' '{ printf "  %s  %s\n", $2, $1 }'
	exit 1
fi
echo "deadcode: no unreachable functions beyond $allow"
