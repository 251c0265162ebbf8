package deploy

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
)

// djangoBadRequest is Django 3.2's answer to a Host header not in
// ALLOWED_HOSTS when DEBUG is off.
const djangoBadRequest = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"

// runHealth runs the health script here, as a host runs it, with the
// check's headers.
func runHealth(t *testing.T, url string, hc inventory.HealthCheck) (string, bool) {
	t.Helper()
	cmd := exec.Command("sh", "-c", healthScript)
	cmd.Env = append(os.Environ(), "OPSUI_HEALTH_URL="+url, "OPSUI_EXPECT="+hc.Expect, "OPSUI_RETRIES=1", "OPSUI_DEADLINE=10",
		"OPSUI_HEALTH_HEADERS="+strings.Join(hc.RequestHeaders(), "\n"))
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// TestHealthNamesTheSite: the health request carries the check's Host
// header and headers, so a site that accepts only its own name answers;
// without them the failure says what the page says, not its markup, and
// hints at ALLOWED_HOSTS.
func TestHealthNamesTheSite(t *testing.T) {
	testenv.RequireProgram(t, "curl", "curl")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "www.shop.test" || r.Header.Get("X-Forwarded-Proto") != "https" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(djangoBadRequest))
			return
		}
		w.Write([]byte("ok release=R1\n"))
	}))
	defer srv.Close()

	out, ok := runHealth(t, srv.URL+"/health/", inventory.HealthCheck{Expect: "release=R1"})
	if ok {
		t.Fatalf("a request without the site's name passed:\n%s", out)
	}
	for _, want := range []string{"HTTP 400", `an HTML page titled "Bad Request (400)"`, "health.host"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<h1>") || strings.Contains(out, "doctype") {
		t.Errorf("the failure shows the page's markup:\n%s", out)
	}

	out, ok = runHealth(t, srv.URL+"/health/", inventory.HealthCheck{Expect: "release=R1", Host: "www.shop.test",
		Headers: map[string]string{"X-Forwarded-Proto": "https"}})
	if !ok || !strings.Contains(out, "healthy after 1 try:") {
		t.Fatalf("the request naming the site failed:\n%s", out)
	}
}

// TestHealthSummaryOfADebugPage: Django's debug page is summarised by its
// title and first line of text.
func TestHealthSummaryOfADebugPage(t *testing.T) {
	testenv.RequireProgram(t, "curl", "curl")
	page := `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DisallowedHost
 at /health/</title><style type="text/css">html * { padding:0; }</style><script>function x(){}</script></head>
<body><div id="summary"><h1>DisallowedHost at /health/</h1>
<pre class="exception_value">Invalid HTTP_HOST header: &#x27;127.0.1.1:8000&#x27;. You may need to add &#x27;127.0.1.1&#x27; to ALLOWED_HOSTS.</pre>
</div></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(page))
	}))
	defer srv.Close()
	out, _ := runHealth(t, srv.URL+"/health/", inventory.HealthCheck{})
	want := `an HTML page titled "DisallowedHost at /health/": Invalid HTTP_HOST header: &#x27;127.0.1.1:8000&#x27;.`
	if !strings.Contains(out, want) {
		t.Errorf("summary:\n%s\nwant it to hold %s", out, want)
	}
}

// TestHealthFirstTryAsksAgainSoon: a server that answers on its third
// request (a master ready some 300 ms after the reload) passes within the
// first try, which asks five times in its second, with one retry allowed.
func TestHealthFirstTryAsksAgainSoon(t *testing.T) {
	testenv.RequireProgram(t, "curl", "curl")
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok release=R1\n"))
	}))
	defer srv.Close()
	out, ok := runHealth(t, srv.URL+"/health/", inventory.HealthCheck{Expect: "release=R1"})
	if !ok || !strings.Contains(out, "healthy after 1 try:") || asked.Load() != 3 {
		t.Fatalf("asked %d times:\n%s", asked.Load(), out)
	}
}
