package demofleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Fault is a fault the demo injects into one host, for trying how the
// console shows what an on-call engineer must recognise.
type Fault string

// The faults, in the order they are listed to the user.
const (
	FaultDown Fault = "down" // its SSH server stops: connections are refused
	FaultHang Fault = "hang" // its SSH server is stopped (SIGSTOP): connections are accepted, then silence
	FaultSlow Fault = "slow" // its SSH server delays everything it sends
	FaultOK   Fault = "ok"   // back to normal (a down host is started again)
)

// Faults are the faults in the order they are listed to the user.
var Faults = []Fault{FaultDown, FaultHang, FaultSlow, FaultOK}

// DefaultLatency is the "slow" fault's added delay when none is given.
const DefaultLatency = 400 * time.Millisecond

// ParseFault parses a fault's name.
func ParseFault(s string) (Fault, error) {
	for _, f := range Faults {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown fault %q: want one of %s", s, faultList())
}

func faultList() string {
	names := make([]string, len(Faults))
	for i, f := range Faults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// controlSocket is where the fleet's process takes fault requests.
func controlSocket(dir string) string { return filepath.Join(dir, runDir, "control.sock") }

// serveControl listens on the control socket: one request a connection,
// "HOST FAULT LATENCY", answered "ok MESSAGE" or "error MESSAGE".
func (f *Fleet) serveControl(ctx context.Context) error {
	path := controlSocket(f.Dir)
	os.Remove(path) // a stale socket of a fleet that was killed
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("demo control socket: %w", err)
	}
	f.control = ln
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				f.handleControl(ctx, c)
			}()
		}
	}()
	return nil
}

func (f *Fleet) handleControl(ctx context.Context, c net.Conn) {
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	answer := func(msg string, err error) {
		if err != nil {
			fmt.Fprintf(c, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			return
		}
		fmt.Fprintf(c, "ok %s\n", msg)
	}
	fields := strings.Fields(line)
	if len(fields) != 3 {
		answer("", fmt.Errorf("bad request %q: want HOST FAULT LATENCY", strings.TrimSpace(line)))
		return
	}
	fault, err := ParseFault(fields[1])
	if err != nil {
		answer("", err)
		return
	}
	latency, err := time.ParseDuration(fields[2])
	if err != nil {
		answer("", fmt.Errorf("bad latency %q: %w", fields[2], err))
		return
	}
	answer(f.Inject(ctx, fields[0], fault, latency))
}

// InjectFault asks the demo fleet running in dir to inject fault into
// host (latency: the "slow" fault's delay, DefaultLatency when 0) and
// returns what the fleet did.
func InjectFault(ctx context.Context, dir, host string, fault Fault, latency time.Duration) (string, error) {
	if host == "" || strings.ContainsAny(host, " \t\n") {
		return "", fmt.Errorf("bad host name %q", host)
	}
	if latency < 0 {
		return "", fmt.Errorf("latency %v is negative", latency)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", controlSocket(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return "", fmt.Errorf("no demo fleet runs in %s (start one with opsui demo --keep --dir %s): %w", dir, dir, err)
		}
		return "", fmt.Errorf("demo fleet in %s: %w", dir, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := fmt.Fprintf(c, "%s %s %s\n", host, fault, latency); err != nil {
		return "", fmt.Errorf("demo fleet in %s: %w", dir, err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("demo fleet in %s: no answer: %w", dir, err)
	}
	status, msg, _ := strings.Cut(strings.TrimSpace(reply), " ")
	if status != "ok" {
		return "", errors.New(msg)
	}
	return msg, nil
}
