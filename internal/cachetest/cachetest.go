// Package cachetest runs real memcached and Redis servers for the flush
// tests, from Debian's memcached and redis-server packages
// (scripts/install-deps.sh installs them), and talks to them over plain TCP
// to put keys in and count them.
//
// Servers listen on the address they are given (an sshtest host's loopback
// address, so the host's own commands reach them: the hosts share the
// test's network) and a free port, and are stopped at the test's cleanup.
// Without the programs the Require functions skip the test, or fail it when
// OPSUI_TEST_REQUIRE_SSHD is 1, as `make test` sets it.
package cachetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// Paths of the Debian programs.
const (
	MemcachedPath = "/usr/bin/memcached"
	RedisPath     = "/usr/bin/redis-server"
)

// RequireMemcached skips (or fails) the test when memcached is missing.
func RequireMemcached(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, MemcachedPath, "memcached")
}

// RequireRedis skips (or fails) the test when redis-server is missing.
func RequireRedis(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, RedisPath, "redis-server")
}

// Server is a running memcached or Redis.
type Server struct {
	Kind     string // "memcached" or "redis"
	Addr     string // the listen address
	Port     int
	Password string // Redis requirepass, if any

	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Address returns "addr:port".
func (s *Server) Address() string { return net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)) }

// StartMemcached starts memcached on addr and a free port.
func StartMemcached(t testing.TB, addr string) *Server {
	t.Helper()
	RequireMemcached(t)
	return start(t, "memcached", addr, "", func(port int, dir string) []string {
		return []string{MemcachedPath, "-l", addr, "-p", strconv.Itoa(port), "-U", "0", "-u", "root", "-m", "16", "-t", "1"}
	})
}

// StartRedis starts redis-server on addr and a free port, without
// persistence, requiring password when it is not empty.
func StartRedis(t testing.TB, addr, password string) *Server {
	t.Helper()
	RequireRedis(t)
	return start(t, "redis", addr, password, func(port int, dir string) []string {
		args := []string{RedisPath, "--bind", addr, "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no", "--protected-mode", "no"}
		if password != "" {
			args = append(args, "--requirepass", password)
		}
		return args
	})
}

func start(t testing.TB, kind, addr, password string, args func(port int, dir string) []string) *Server {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := testenv.FreePort(addr)
		if err != nil {
			t.Fatalf("cachetest: %v", err)
		}
		s := &Server{Kind: kind, Addr: addr, Port: port, Password: password, t: t, done: make(chan struct{}),
			log: filepath.Join(dir, fmt.Sprintf("%s-%d.log", kind, attempt))}
		if lastErr = s.launch(args(port, dir)); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("cachetest: start %s on %s: %v", kind, addr, lastErr)
	return nil
}

func (s *Server) launch(argv []string) error {
	logf, err := os.Create(s.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = procAttr()
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			b, _ := os.ReadFile(s.log)
			return fmt.Errorf("exited at start: %s", strings.TrimSpace(string(b)))
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Address(), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("not listening on %s after 10s", s.Address())
}

// Stop kills the server and waits for it; the port then refuses
// connections. It may be called more than once.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// conn is one client connection.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

func (s *Server) dial() *conn {
	s.t.Helper()
	c, err := net.DialTimeout("tcp", s.Address(), 5*time.Second)
	if err != nil {
		s.t.Fatalf("cachetest: %v", err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &conn{c: c, r: bufio.NewReader(c)}
}

func (c *conn) line(t testing.TB) string {
	t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("cachetest: read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// Set stores keys (memcached; db is ignored) or sets them in Redis database db.
func (s *Server) Set(db int, keys ...string) {
	s.t.Helper()
	c := s.dial()
	defer c.c.Close()
	if s.Kind == "memcached" {
		for _, k := range keys {
			fmt.Fprintf(c.c, "set %s 0 0 %d\r\n%s\r\n", k, len(k), k)
			if l := c.line(s.t); l != "STORED" {
				s.t.Fatalf("cachetest: memcached set %s: %s", k, l)
			}
		}
		return
	}
	c.redisPrelude(s, db)
	for _, k := range keys {
		if r := c.redis(s.t, "SET", k, k); r != "+OK" {
			s.t.Fatalf("cachetest: redis SET %s: %s", k, r)
		}
	}
}

// Has reports which of keys the server holds (in Redis database db).
func (s *Server) Has(db int, keys ...string) []string {
	s.t.Helper()
	c := s.dial()
	defer c.c.Close()
	var out []string
	if s.Kind == "memcached" {
		for _, k := range keys {
			fmt.Fprintf(c.c, "get %s\r\n", k)
			for {
				l := c.line(s.t)
				if l == "END" {
					break
				}
				if strings.HasPrefix(l, "VALUE ") {
					out = append(out, k)
					c.line(s.t) // the data
				}
			}
		}
		return out
	}
	c.redisPrelude(s, db)
	for _, k := range keys {
		if r := c.redis(s.t, "EXISTS", k); r == ":1" {
			out = append(out, k)
		}
	}
	return out
}

// DBSize returns the keys of Redis database db.
func (s *Server) DBSize(db int) int {
	s.t.Helper()
	c := s.dial()
	defer c.c.Close()
	c.redisPrelude(s, db)
	r := c.redis(s.t, "DBSIZE")
	n, err := strconv.Atoi(strings.TrimPrefix(r, ":"))
	if err != nil {
		s.t.Fatalf("cachetest: DBSIZE: %s", r)
	}
	return n
}

func (c *conn) redisPrelude(s *Server, db int) {
	s.t.Helper()
	if s.Password != "" {
		if r := c.redis(s.t, "AUTH", s.Password); r != "+OK" {
			s.t.Fatalf("cachetest: redis AUTH: %s", r)
		}
	}
	if r := c.redis(s.t, "SELECT", strconv.Itoa(db)); r != "+OK" {
		s.t.Fatalf("cachetest: redis SELECT %d: %s", db, r)
	}
}

// redis sends one command and returns the reply's first line (simple
// strings, errors and integers are whole in it).
func (c *conn) redis(t testing.TB, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.c.Write([]byte(b.String())); err != nil {
		t.Fatalf("cachetest: redis write: %v", err)
	}
	return c.line(t)
}
