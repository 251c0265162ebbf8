package demofleet

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// runScript runs script as a command of host cfg's SSH server would run
// (same shell, directory and environment) and returns its output. What it
// starts in the background stays a descendant of this process (procs).
func runScript(ctx context.Context, cfg HostConfig, procs *Procs, script string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command(cfg.Shell, "-c", script)
	cmd.Dir, cmd.Env = cfg.Dir, environ(cfg, procs.marker, nil)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := procs.start(cmd); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- procs.wait(cmd) }()
	select {
	case err := <-done:
		if err != nil {
			return out.String(), fmt.Errorf("%s: %w: %s", cfg.Name, err, strings.TrimSpace(out.String()))
		}
		return out.String(), nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.String(), fmt.Errorf("%s: %w", cfg.Name, ctx.Err())
	}
}

// bootScript returns what starts host h's service when the fleet starts:
// memcached on a cache host, nginx in front of its environment's web
// hosts on an lb host. Web hosts get gunicorn from their first deploy.
func bootScript(h Host, backends []string) (string, error) {
	switch {
	case h.has("cache"):
		user := ""
		if os.Geteuid() == 0 {
			user = " -u root" // memcached refuses root without it
		}
		return fmt.Sprintf(`command -v memcached >/dev/null || { echo "memcached is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
nohup memcached -l %s -p %d -U 0 -m 32 -vv%s >> memcached.log 2>&1 < /dev/null &
echo $! > memcached.pid
`, h.IP, h.Port, user), nil
	case h.has("lb"):
		prefix := filepath.Join(h.Dir, nginxDir)
		for _, d := range []string{"logs", "tmp"} {
			if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
				return "", fmt.Errorf("%s: nginx directory: %w", h.Name, err)
			}
		}
		var up strings.Builder
		fmt.Fprintf(&up, "upstream %s {\n", App)
		for _, b := range backends {
			fmt.Fprintf(&up, "    server %s max_fails=0;\n", b)
		}
		up.WriteString("}\n")
		upstream := filepath.Join(prefix, "upstream.conf")
		if err := os.WriteFile(upstream, []byte(up.String()), 0o644); err != nil {
			return "", fmt.Errorf("%s: upstream: %w", h.Name, err)
		}
		// opsui maintenance writes this file; empty, nginx serves the app.
		if err := os.WriteFile(filepath.Join(prefix, maintenanceFile), nil, 0o644); err != nil {
			return "", fmt.Errorf("%s: maintenance file: %w", h.Name, err)
		}
		conf := filepath.Join(prefix, "nginx.conf")
		if err := os.WriteFile(conf, []byte(nginxConfig(h, prefix, upstream)), 0o644); err != nil {
			return "", fmt.Errorf("%s: nginx.conf: %w", h.Name, err)
		}
		args := remote.QuoteAll("-p", prefix+"/", "-c", conf, "-e", filepath.Join(prefix, "logs", "error.log"))
		return `command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || { echo "nginx is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
nginx ` + args + " -t -q && nginx " + args + "\n", nil
	}
	return "", nil
}

// maintenanceFile is the balancer's maintenance include (options.maintenance_file),
// in its nginx directory.
const maintenanceFile = "maintenance.conf"

func nginxConfig(h Host, prefix, upstream string) string {
	var b strings.Builder
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n") // workers as nobody could not enter a private demo directory
	}
	fmt.Fprintf(&b, `daemon on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log notice;
events { worker_connections 256; }
http {
    access_log %[1]s/logs/access.log;
    client_body_temp_path %[1]s/tmp/client;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[2]s;
    server {
        listen %[3]s;
        include %[1]s/%[5]s;
        location / {
            proxy_pass http://%[4]s;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
`, prefix, upstream, h.ServiceAddr(), App, maintenanceFile)
	return b.String()
}

// traffic keeps the demo alive until ctx is done: requests to each
// balancer (so nginx's and gunicorn's logs grow) and keys written to and
// read from each memcached (so a flush has something to flush).
func traffic(ctx context.Context, hosts []Host) {
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/", "/", "/", "/health/", "/static/shop/shop.css", "/orders/missing"}
	tick := time.NewTicker(700 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, h := range hosts {
			switch {
			case h.has("lb"):
				get(ctx, client, "http://"+h.ServiceAddr()+paths[rand.IntN(len(paths))])
			case h.has("cache") && n%3 == 0:
				touchCache(ctx, h.ServiceAddr(), n)
			}
		}
	}
}

func get(ctx context.Context, c *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", "opsui-demo-traffic/1")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
}

// touchCache sets a few session keys and reads some back, as the app
// would.
func touchCache(ctx context.Context, addr string, n int) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	for i := range 3 {
		v := fmt.Sprintf("cart=%d", rand.IntN(1000))
		fmt.Fprintf(&b, "set session:%d 0 900 %d\r\n%s\r\n", (n*3+i)%200, len(v), v)
	}
	fmt.Fprintf(&b, "get session:%d page:home\r\nquit\r\n", rand.IntN(200))
	if _, err := c.Write([]byte(b.String())); err != nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}
