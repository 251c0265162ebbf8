#!/usr/bin/env bash
# dupcheck.sh fails when non-test code holds a new pair of places sharing six
# or more lines, identical or of the same shape (alike but for names, strings
# and numbers), beyond the pairs listed in scripts/duplicates.baseline.
#
# It runs the `duplicates` command of the opsui development machines over a
# copy of the tracked, non-test files (*_test.go and testdata/ left out) in
# which Go import blocks are blanked, so that two files importing the same
# packages are no pair. A pair is its two files and how many separate runs
# they share: a new pair of files, or a new run between two files already
# listed, fails. Rows the tool marks boilerplate (mostly punctuation and
# keywords, or a shape that recurs across a folder) do not count.
#
# `duplicates` is not a package any registry serves, so a machine without it
# (CI's fresh clone) skips the check with a message: that is why it is
# `make dupcheck` and not part of `make lint`.
#
# Usage: scripts/dupcheck.sh            check against the baseline
#        scripts/dupcheck.sh --update   write today's pairs as the baseline
set -euo pipefail
cd "$(dirname "$0")/.."

baseline=scripts/duplicates.baseline
update=false
case "${1:-}" in
--update) update=true ;;
"") ;;
*)
	echo "usage: $0 [--update]" >&2
	exit 2
	;;
esac

if ! command -v duplicates >/dev/null 2>&1; then
	echo "dupcheck: skipped: the duplicates command is not on this machine (it is on the opsui development machines, not in any package registry)"
	exit 0
fi

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

# The non-test files as they are in the work tree, import blocks blanked
# (line numbers kept).
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do
		case "$f" in
		*_test.go | testdata/* | */testdata/*) continue ;;
		esac
		[ -f "$f" ] || continue # deleted, not yet committed
		mkdir -p "$tree/$(dirname "$f")"
		case "$f" in
		*.go) awk '/^import \($/ { inblock = 1 } inblock || /^import "/ { print ""; if (/^\)$/) inblock = 0; next } { print }' "$f" >"$tree/$f" ;;
		*) cp "$f" "$tree/$f" ;;
		esac
	done

out=$(duplicates --repo "$tree" --min-lines 6 --most 200 --seconds 300)
if grep -q '^incomplete:' <<<"$out"; then
	echo "dupcheck: the duplicates command did not read the whole tree:"
	grep '^incomplete:' <<<"$out"
	exit 1
fi
if grep -q 'more pairs)' <<<"$out"; then
	echo "dupcheck: more than 200 pairs, so some were not listed; remove duplicates (or raise the bar) first"
	exit 1
fi

# Each counted row as "fileA ~ fileB<TAB>runs", files in order; rows keeps
# the row itself to show.
rows=$(grep -E '^D[0-9]+ ' <<<"$out" | grep -v ' boilerplate' || true)
keys=$(awk '{
	a = $2; b = $4; sub(/:[0-9]+-[0-9]+$/, "", a); sub(/:[0-9]+-[0-9]+$/, "", b)
	if (b < a) { t = a; a = b; b = t }
	runs = 1
	if (match($0, /\(\+[0-9]+ more run/)) runs += substr($0, RSTART + 2, RLENGTH - 11)
	printf "%s ~ %s\t%d\t%s\n", a, b, runs, $0
}' <<<"$rows" | sort)

if $update; then
	{
		echo "# Pairs of places in non-test code that share six or more lines, as"
		echo "# scripts/dupcheck.sh (make dupcheck) counts them: files, then runs shared."
		echo "# Written by scripts/dupcheck.sh --update; a pair that goes away may be"
		echo "# removed, a new one is only added when the repetition is agreed."
		cut -f1,2 <<<"$keys" | sed '/^$/d'
	} >"$baseline"
	echo "dupcheck: wrote $(grep -vc '^#' "$baseline") pairs to $baseline"
	exit 0
fi

new=$(awk -F'\t' 'NR == FNR { if ($0 !~ /^#/) base[$1] = $2; next }
	$1 != "" && (!($1 in base) || $2 > base[$1]) { print $3 }' "$baseline" - <<<"$keys")
if [ -n "$new" ]; then
	echo "dupcheck: new duplicates of six or more lines in non-test code (make one piece of code serve both, or, if the repetition is agreed, scripts/dupcheck.sh --update):"
	sed 's/^/  /' <<<"$new"
	exit 1
fi
echo "dupcheck: no duplicates beyond $baseline ($(grep -c . <<<"$keys" || true) pairs today)"
