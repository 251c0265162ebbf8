package ops

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
)

// startNginxOn starts a real nginx whose http block includes upstream, the
// upstream file opsui setup wrote (an upstream block named name), and
// proxies every request to it, as an operator's site configuration would;
// it returns its base URL and stops at cleanup.
func startNginxOn(t *testing.T, upstream, name string) string {
	t.Helper()
	webtest.RequireNginx(t)
	prefix := t.TempDir()
	port, err := testenv.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers would run as nobody, who cannot enter the test's directories
	}
	conf := fmt.Sprintf(`%[1]sdaemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s/client;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[3]s;
    server {
        listen 127.0.0.1:%[4]d;
        location / { proxy_pass http://%[5]s; proxy_set_header Host $host; }
    }
}
`, user, prefix, upstream, port, name)
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(webtest.NginxPath, "-t", "-q", "-p", prefix, "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t with the upstream file setup wrote: %v: %s", err, out)
	}
	cmd := exec.Command(webtest.NginxPath, "-p", prefix, "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// get returns the body of url, "" when it cannot be had.
func get(url string) string {
	r, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}
