package demofleet

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
)

// TestLBCheckKnowsMaintenance runs the demo balancer's check in sh against
// a real HTTP server: a 200 is healthy, a 503 only while the maintenance
// file holds maintenance mode, and said as such.
func TestLBCheckKnowsMaintenance(t *testing.T) {
	testenv.RequireProgram(t, "curl", "curl")
	for _, tc := range []struct {
		name        string
		code        int
		maintenance string
		ok          bool
		says        string
	}{
		{"serving", 200, "", true, "nginx: HTTP 200"},
		{"maintenance", 503, "return 503;\n", true, "nginx: HTTP 503 in "},
		{"503 without maintenance", 503, "", false, "nginx: HTTP 503"},
		{"a bad gateway", 502, "return 503;\n", false, "nginx: HTTP 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.code) }))
			defer srv.Close()
			file := filepath.Join(t.TempDir(), maintenanceFile)
			os.WriteFile(file, []byte(tc.maintenance), 0o644)
			out, err := exec.Command("sh", "-c", lbCheck(strings.TrimPrefix(srv.URL, "http://"), file)).CombinedOutput()
			if (err == nil) != tc.ok || !strings.Contains(string(out), tc.says) {
				t.Errorf("ok=%v (%v), said %q; want ok=%v saying %q", err == nil, err, out, tc.ok, tc.says)
			}
			if tc.ok && tc.code == 503 && !strings.Contains(string(out), "maintenance mode") {
				t.Errorf("a 503 in maintenance said %q, without naming maintenance mode", out)
			}
		})
	}
	out, err := exec.Command("sh", "-c", lbCheck("127.0.0.1:1", filepath.Join(t.TempDir(), "none"))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nginx: 000") {
		t.Errorf("nothing listening: ok=%v, said %q", err == nil, out)
	}
}
