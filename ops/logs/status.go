package logs

import "strconv"

// AccessStatus returns the HTTP status of a common or combined
// access-log line (nginx's, gunicorn's), and whether text is one.
func AccessStatus(text string) (int, bool) {
	m := accessStatus.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	code, err := strconv.Atoi(m[1])
	return code, err == nil
}

// IsAccess reports whether the group is of access-log lines (one request
// path and 5xx status): a rate's business rather than an error's.
func (g Group) IsAccess() bool { return len(g.Key) > 5 && g.Key[:5] == "http\x00" }
