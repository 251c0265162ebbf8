package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The lexical side of Ansible INI inventories: splitting host lines into
// words and expanding host ranges.

// splitAnsibleLine splits a line into words as Python's shlex does for
// Ansible: blanks separate words, quotes group them ("..." honours \" and \\,
// '...' nothing), a backslash outside quotes escapes the next character, and
// an unquoted '#' starts a comment.
func splitAnsibleLine(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case '#':
			i = len(s)
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("backslash at end of line")
			}
			i++
			w.WriteByte(s[i])
			inWord = true
		case '"', '\'':
			end := i + 1
			for ; end < len(s) && s[end] != c; end++ {
				if c == '"' && s[end] == '\\' && end+1 < len(s) && (s[end+1] == '"' || s[end+1] == '\\') {
					end++
				}
				w.WriteByte(s[end])
			}
			if end == len(s) {
				return nil, fmt.Errorf("unterminated quote (%c) at column %d", c, i+1)
			}
			i, inWord = end, true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// expandAnsibleHost expands a host pattern such as web[01:03].example.com,
// db[a:c] or app[1:9:2], with an optional ":port" suffix, into host names.
func expandAnsibleHost(pat string) (names []string, port string, err error) {
	// One colon outside the ranges introduces a port; more make an IPv6
	// address, which is no host name.
	depth, colon, colons := 0, 0, 0
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				colon, colons = i, colons+1
			}
		}
	}
	if colons == 1 {
		if pat, port = pat[:colon], pat[colon+1:]; port == "" {
			return nil, "", errors.New("ends in ':' but gives no port")
		}
	}
	names = []string{""}
	for pat != "" {
		i := strings.IndexByte(pat, '[')
		if i < 0 {
			i = len(pat)
		}
		items := []string{""}
		rest := pat[i:]
		if rest != "" {
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, "", errors.New("range has no closing ']'")
			}
			if items, err = expandAnsibleRange(rest[1:j]); err != nil {
				return nil, "", err
			}
			rest = rest[j+1:]
		}
		if len(names)*len(items) > maxAnsibleRange {
			return nil, "", fmt.Errorf("expands to more than %d hosts", maxAnsibleRange)
		}
		next := make([]string, 0, len(names)*len(items))
		for _, n := range names {
			for _, it := range items {
				next = append(next, n+pat[:i]+it)
			}
		}
		names, pat = next, rest
	}
	return names, port, nil
}

// expandAnsibleRange expands the inside of one range: "01:03" gives 01 02 03
// (zero padding kept), "a:c" gives a b c, and a third field is the stride.
func expandAnsibleRange(spec string) ([]string, error) {
	f := strings.Split(spec, ":")
	if len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("bad range [%s] (want [start:end] or [start:end:step])", spec)
	}
	step := uint64(1)
	if len(f) == 3 {
		n, err := strconv.ParseUint(f[2], 10, 31) // small enough not to overflow below
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad range [%s]: step %q is not a positive number below 2^31", spec, f[2])
		}
		step = n
	}
	beg, end := f[0], f[1]
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("bad range [%s]: no end", spec)
	}
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if b, e := strings.Index(letters, beg), strings.Index(letters, end); len(beg) == 1 && len(end) == 1 && b >= 0 && e >= 0 {
		if b > e {
			return nil, fmt.Errorf("bad range [%s]: start after end", spec)
		}
		var out []string
		for i := uint64(b); i <= uint64(e); i += step {
			out = append(out, letters[i:i+1])
		}
		return out, nil
	}
	b, errb := strconv.ParseUint(beg, 10, 31)
	e, erre := strconv.ParseUint(end, 10, 31)
	switch {
	case errb != nil || erre != nil:
		return nil, fmt.Errorf("bad range [%s]: start and end must be both numbers or both single letters", spec)
	case b > e:
		return nil, fmt.Errorf("bad range [%s]: start after end", spec)
	case len(beg) > 1 && beg[0] == '0' && len(beg) != len(end):
		return nil, fmt.Errorf("bad range [%s]: zero-padded start and end must have the same width", spec)
	case (e-b)/step >= maxAnsibleRange:
		return nil, fmt.Errorf("bad range [%s]: more than %d hosts", spec, maxAnsibleRange)
	}
	width := 0
	if len(beg) > 1 && beg[0] == '0' {
		width = len(beg)
	}
	var out []string
	for i := b; i <= e; i += step {
		out = append(out, fmt.Sprintf("%0*d", width, i))
	}
	return out, nil
}
