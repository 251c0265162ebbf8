package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opsui/opsui/internal/demofleet"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// The file descriptors `opsui demo` hands the process that serves the
// fleet (exec.Cmd.ExtraFiles start at 3).
const (
	fdReady    = 3 // it writes "ok" or the error that stopped it, then closes it
	fdLifeline = 4 // without --keep: end of file on it stops the fleet
)

// serveDemo runs the demo fleet in dir until SIGTERM or SIGINT, or, when
// lifeline is set, until the end of file on the lifeline descriptor (the
// `opsui demo` that started it is gone). It reports readiness on the ready
// descriptor. Its log goes to stderr (the demo's fleet.log).
func serveDemo(ctx context.Context, dir string, lifeline bool) error {
	ready := os.NewFile(fdReady, "ready")
	report := func(err error) {
		if ready == nil {
			return
		}
		msg := "ok\n"
		if err != nil {
			msg = "error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
		}
		ready.WriteString(msg)
		ready.Close()
		ready = nil
	}
	defer report(errors.New("the demo fleet stopped while starting"))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt, syscall.SIGHUP)
	defer stop()
	if lifeline {
		life := os.NewFile(fdLifeline, "lifeline")
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			io.Copy(io.Discard, life) // returns when `opsui demo` is gone
			cancel()
		}()
		ctx = lctx
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	exe, err := os.Executable()
	if err != nil {
		report(err)
		return fmt.Errorf("demo: %w", err)
	}
	fleet, err := demofleet.Start(ctx, dir, logger, demofleet.Options{
		HostCommand: func(dir, name string) *exec.Cmd {
			return exec.Command(exe, "demo", "--serve-host", name, "--dir", dir)
		},
	})
	if err != nil {
		report(err)
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := fleet.Stop(sctx); err != nil {
			logger.Printf("stop: %v", err)
		}
		os.Remove(filepath.Join(dir, demofleet.PidFile))
	}()
	if err := writeDemoFiles(ctx, fleet); err != nil {
		report(err)
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, demofleet.PidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		report(err)
		return fmt.Errorf("pid file: %w", err)
	}
	report(nil)
	<-ctx.Done()
	logger.Printf("stopping: %v", context.Cause(ctx))
	return nil
}

// writeDemoFiles writes the demo's fleet file, its database (the user's is
// never opened) and the opsui wrapper that runs the CLI on the demo.
func writeDemoFiles(ctx context.Context, fleet *demofleet.Fleet) error {
	inv := fleet.Inventory()
	y, err := inventory.EncodeYAML(inv)
	if err != nil {
		return fmt.Errorf("demo fleet file: %w", err)
	}
	head := "# The opsui demo fleet (`opsui demo`), as imported into " + filepath.Join(fleet.Dir, demofleet.DBFile) + ".\n"
	if err := os.WriteFile(filepath.Join(fleet.Dir, demofleet.FleetFile), append([]byte(head), y...), 0o644); err != nil {
		return fmt.Errorf("demo fleet file: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(fleet.Dir, demofleet.DBFile))
	if err != nil {
		return fmt.Errorf("demo database: %w", err)
	}
	defer st.Close()
	if err := st.SaveFleet(ctx, inv); err != nil {
		return fmt.Errorf("demo database: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo wrapper: %w", err)
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# opsui on the demo fleet in this directory: its own database and known_hosts, none of your ~/.ssh.\n")
	for _, kv := range demoEnvVars(fleet.Dir) {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "%s=%s; export %s\n", k, remote.Quote(v), k)
	}
	fmt.Fprintf(&b, "exec %s \"$@\"\n", remote.Quote(exe))
	if err := os.WriteFile(filepath.Join(fleet.Dir, "opsui"), []byte(b.String()), 0o755); err != nil {
		return fmt.Errorf("demo wrapper: %w", err)
	}
	return nil
}

// demoEnvVars is the environment that points opsui at the demo in dir:
// its database, opsui's known_hosts under XDG_DATA_HOME, a HOME without
// the user's ~/.ssh (config, known_hosts, keys) and no agent. The user's
// configuration directory is kept, for the console's theme.
func demoEnvVars(dir string) []string {
	env := []string{
		"OPSUI_DB=" + filepath.Join(dir, demofleet.DBFile),
		"XDG_DATA_HOME=" + filepath.Join(dir, demofleet.DataHome),
		"HOME=" + filepath.Join(dir, demofleet.HomeDir),
		"SSH_AUTH_SOCK=",
	}
	if cfg, err := os.UserConfigDir(); err == nil {
		env = append(env, "XDG_CONFIG_HOME="+cfg)
	}
	if op := operator(); op != "" {
		env = append(env, "OPSUI_OPERATOR="+op)
	}
	return env
}

// demoEnviron is this process's environment with demoEnvVars in place.
func demoEnviron(dir string) []string {
	vars := demoEnvVars(dir)
	drop := map[string]bool{}
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}
