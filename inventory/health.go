package inventory

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The health request's header names are HTTP tokens; a host is a DNS name
// or an address, with an optional port.
var (
	headerNameRe = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
	healthHostRe = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$`)
)

// RequestHeaders returns the health request's headers as "Name: value"
// lines, Host first, the rest sorted by name: the same request every time.
func (hc HealthCheck) RequestHeaders() []string {
	var out []string
	if hc.Host != "" {
		out = append(out, "Host: "+hc.Host)
	}
	names := make([]string, 0, len(hc.Headers))
	for k := range hc.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, k+": "+hc.Headers[k])
	}
	return out
}

// validateHealthRequest checks the health check's host and headers: each
// becomes one header line of a request made on the host, so none may hold
// a line break or a control character.
func validateHealthRequest(p string, hc HealthCheck, add func(path, format string, args ...any)) {
	if hc.Host != "" && !healthHostRe.MatchString(hc.Host) {
		add(p+".host", "host %q is not a host name or address (with an optional :port): it is sent as the Host header", hc.Host)
	}
	for _, k := range slices.Sorted(maps.Keys(hc.Headers)) {
		v := hc.Headers[k]
		switch {
		case !headerNameRe.MatchString(k):
			add(p+".headers."+k, "header name %q is not an HTTP token (letters, digits and !#$%%&'*+.^_`|~-)", k)
		case strings.EqualFold(k, "host"):
			add(p+".headers."+k, "the Host header is health.host, not a header")
		case strings.IndexFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) >= 0:
			add(p+".headers."+k, "header %s holds a line break or control character", k)
		}
	}
}
