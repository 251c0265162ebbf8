package cache

import (
	"strconv"
	"strings"
)

// Unknown is a key count the server could not say.
const Unknown int64 = -1

// sections of a flush's output.
const (
	secBefore = "before"
	secFlush  = "flush"
	secCrawl  = "crawl"
	secAfter  = "after"
)

// errorReplies open the error answers of Redis (as redis-cli prints them)
// and memcached.
var errorReplies = []string{"ERR", "NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "MISCONF", "READONLY",
	"BUSY", "MASTERDOWN", "AUTH failed", "ERROR", "CLIENT_ERROR", "SERVER_ERROR"}

// Counts is what a flush's output says about the server.
type Counts struct {
	Before, After int64 // keys; Unknown when the output does not say
	Flushed       bool  // the flush was answered OK
	ServerError   string
}

// ParseOutput reads the sections of a flush command's output (see the
// package documentation) for a server of kind whose database db was
// flushed (AllDBs: every database). Lines outside the sections are ignored.
func ParseOutput(kind Kind, db int, lines []string) Counts {
	c := Counts{Before: Unknown, After: Unknown}
	counts := map[string]int64{}
	oks := map[string]bool{}
	section := ""
	for _, raw := range lines {
		l := strings.TrimSpace(raw)
		if name, ok := strings.CutPrefix(l, "## "); ok {
			section = name
			continue
		}
		if section == "" || l == "" {
			continue
		}
		if c.ServerError == "" && isErrorReply(l) {
			c.ServerError = l
		}
		if l == "OK" {
			oks[section] = true
			continue
		}
		if n, ok := keysIn(kind, db, l); ok {
			counts[section] = max(counts[section], 0) + n
			continue
		}
		if kind == Redis && l == "# Keyspace" {
			counts[section] = max(counts[section], 0) // INFO leaves empty databases out
		}
	}
	c.Flushed = oks[secFlush]
	if n, ok := counts[secBefore]; ok {
		c.Before = n
	}
	// memcached counts flushed items until the crawler reclaims them: the
	// count after is only true once the crawler ran.
	if n, ok := counts[secAfter]; ok && (kind != Memcached || oks[secCrawl]) {
		c.After = n
	}
	return c
}

func isErrorReply(l string) bool {
	for _, p := range errorReplies {
		if strings.HasPrefix(l, p) && (len(l) == len(p) || l[len(p)] == ' ' || l[len(p)] == ':') {
			return true
		}
	}
	return false
}

// keysIn returns the key count a line gives: memcached's "STAT curr_items
// N", Redis's "dbN:keys=K,..." (of db, or of every database) or a bare
// integer such as DBSIZE prints ("(integer) N" in a terminal).
func keysIn(kind Kind, db int, l string) (int64, bool) {
	if kind == Memcached {
		if v, ok := strings.CutPrefix(l, "STAT curr_items "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
		return 0, false
	}
	if name, rest, ok := strings.Cut(l, ":keys="); ok && strings.HasPrefix(name, "db") {
		n, err := strconv.Atoi(name[2:])
		if err != nil || (db != AllDBs && n != db) {
			return 0, false
		}
		v, _, _ := strings.Cut(rest, ",")
		k, err := strconv.ParseInt(v, 10, 64)
		return k, err == nil
	}
	v := strings.TrimPrefix(l, "(integer) ")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}
