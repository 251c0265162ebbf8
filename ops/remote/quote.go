// Package ops is opsui's engine: SSH connections, concurrent command
// execution with per-host event streams, uploads, and the deploy, rollback,
// flush, migrate and log pipelines built on them. It knows nothing of the UI.
package remote

import "strings"

// Quote returns s as one POSIX shell word: single-quoted, with each single
// quote closed, escaped with a backslash and reopened. It is the one place a value is put into a remote
// command line; everything interpolated must pass through it.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafeWord(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteAll quotes each word and joins them with spaces.
func QuoteAll(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// isSafeWord reports whether s needs no quoting: only characters no POSIX
// shell treats specially anywhere in a word.
func isSafeWord(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_./:,+@%", r):
		default:
			return false // '=' too: a first word "a=b" would be an assignment
		}
	}
	return true
}
