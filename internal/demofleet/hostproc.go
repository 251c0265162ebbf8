package demofleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The file descriptors the fleet hands each host's process (exec.Cmd's
// ExtraFiles start at 3).
const (
	hostFdReady    = 3 // it writes "ok" or the error that stopped it, then closes it
	hostFdLifeline = 4 // control lines from the fleet; end of file (the fleet is gone) stops the host
)

// runDir holds the hosts' specs and the fleet's control socket.
const runDir = "run"

// hostSpec is what a host's process needs to know, written by the fleet.
type hostSpecFile struct {
	Name string   `json:"name"`
	Addr string   `json:"addr"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
}

func specPath(dir, name string) string    { return filepath.Join(dir, runDir, name+".json") }
func hostKeyPath(dir, name string) string { return filepath.Join(dir, "keys", "host_"+name) }

// ServeHostProcess is the whole of one demo host's process (what `opsui
// demo --serve-host` runs; the fleet starts one per host): the host's SSH
// server on its own address until SIGTERM, SIGINT or the end of the
// fleet's control pipe. On that pipe the fleet sends "latency DURATION"
// lines (the "slow" fault), each acknowledged on the ready pipe once in
// force. Its log goes to stderr.
func ServeHostProcess(ctx context.Context, dir, name string) (err error) {
	ready := os.NewFile(hostFdReady, "ready")
	ctl := os.NewFile(hostFdLifeline, "control")
	if ready == nil || ctl == nil {
		return errors.New("a demo host's process is started by the demo fleet, with its pipes")
	}
	defer ready.Close()
	started := false
	defer func() {
		if !started {
			if err == nil {
				err = errors.New("stopped while starting")
			}
			fmt.Fprintf(ready, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt, syscall.SIGHUP)
	defer stop()
	logger := log.New(os.Stderr, name+": ", log.LstdFlags)
	srv, err := newHostServer(dir, name, logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer cancel() // end of file: the fleet's process is gone
		sc := bufio.NewScanner(ctl)
		for sc.Scan() {
			arg, ok := strings.CutPrefix(sc.Text(), "latency ")
			d, err := time.ParseDuration(arg)
			if !ok || err != nil {
				logger.Printf("control: %q is not \"latency DURATION\"", sc.Text())
				fmt.Fprintf(ready, "error: bad control line %q\n", sc.Text())
				continue
			}
			srv.SetLatency(d)
			logger.Printf("latency %v", d)
			fmt.Fprintf(ready, "latency %v\n", d)
		}
	}()
	started = true
	if _, err := ready.WriteString("ok\n"); err != nil {
		return fmt.Errorf("demo host %s: ready: %w", name, err)
	}
	logger.Printf("serving on %s (pid %d)", srv.cfg.Addr, os.Getpid())
	<-ctx.Done()
	cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer ccancel()
	logger.Printf("stopping")
	return srv.Close(cctx)
}

// newHostServer is host name's SSH server from the files the fleet wrote.
func newHostServer(dir, name string, logger *log.Logger) (*Server, error) {
	b, err := os.ReadFile(specPath(dir, name))
	if err != nil {
		return nil, fmt.Errorf("demo host %s: %w", name, err)
	}
	var spec hostSpecFile
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("demo host %s: %s: %w", name, specPath(dir, name), err)
	}
	hostKey, err := loadOrCreateKey(hostKeyPath(dir, name))
	if err != nil {
		return nil, fmt.Errorf("demo host %s: %w", name, err)
	}
	client, err := loadOrCreateKey(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("demo host %s: %w", name, err)
	}
	return NewServer(HostConfig{Name: spec.Name, Addr: spec.Addr, Dir: spec.Dir, Env: spec.Env,
		HostKey: hostKey, Authorized: client.PublicKey()}, newHostProcs(dir), logger)
}

// writeHostSpec writes what host h's process reads at start.
func writeHostSpec(dir string, h Host, env []string) error {
	b, err := json.Marshal(hostSpecFile{Name: h.Name, Addr: h.SSHAddr(), Dir: h.Dir, Env: env})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, runDir), 0o700); err != nil {
		return fmt.Errorf("demo run directory: %w", err)
	}
	if err := os.WriteFile(specPath(dir, h.Name), b, 0o600); err != nil {
		return fmt.Errorf("demo host %s: %w", h.Name, err)
	}
	return nil
}

// readLine reads a line from a host process's ready pipe, or "" when it
// ended.
func readLine(r *bufio.Reader) <-chan string {
	line := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	return line
}
