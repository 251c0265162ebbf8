package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
)

// Secrets resolves an app's secret references on the operator's machine,
// each at most once per Secrets (one deploy). Values live only in memory:
// an error names a secret as ‹secret NAME›, never its value.
type Secrets struct {
	// Getenv reads opsui's own environment (os.Getenv when nil).
	Getenv func(string) string

	mu    sync.Mutex
	cache map[string]string
}

// Resolve returns the value of app's secret name.
func (s *Secrets) Resolve(ctx context.Context, app inventory.App, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := app.Name + "\x00" + name
	if v, ok := s.cache[key]; ok {
		return v, nil
	}
	src, ok := app.Secrets[name]
	if !ok {
		return "", fmt.Errorf("%s: not declared in the secrets of app %s", inventory.SecretLabel(name), app.Name)
	}
	v, err := s.read(ctx, src)
	if err != nil {
		return "", fmt.Errorf("%s (app %s): %w", inventory.SecretLabel(name), app.Name, err)
	}
	if v == "" {
		return "", fmt.Errorf("%s (app %s): its %s gave an empty value", inventory.SecretLabel(name), app.Name, src.Kind())
	}
	if strings.ContainsRune(v, 0) {
		return "", fmt.Errorf("%s (app %s): the value holds a NUL byte", inventory.SecretLabel(name), app.Name)
	}
	if s.cache == nil {
		s.cache = map[string]string{}
	}
	s.cache[key] = v
	return v, nil
}

// read reads one source. A trailing newline (what echo, pass and most
// files end with) is not part of the value.
func (s *Secrets) read(ctx context.Context, src inventory.SecretSource) (string, error) {
	switch {
	case src.Env != "":
		getenv := s.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		v := getenv(src.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set (or empty) on this machine", src.Env)
		}
		return trimNewline(v), nil
	case src.File != "":
		return readSecretFile(src.File)
	case src.Command != "":
		return runSecretCommand(ctx, src)
	}
	return "", errors.New("no source (give env, file or command)")
}

// readSecretFile reads a file that only its owner can read: a secret in a
// file the group or the world can read has leaked already.
func readSecretFile(name string) (string, error) {
	if rest, ok := strings.CutPrefix(name, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("file %s: %w", name, err)
		}
		name = filepath.Join(home, rest)
	}
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("file %s is not a regular file", name)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("file %s is readable by others (mode %04o): make it 0600 (chmod 600 %s) and rotate the secret if it was shared", name, perm, name)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return "", fmt.Errorf("file %s: %w", name, err)
	}
	return trimNewline(b.String()), nil
}

// runSecretCommand runs the source's command with sh -c, its standard
// output the value, killed after its timeout. Its standard error is
// shown when it fails: the value is never on it.
func runSecretCommand(ctx context.Context, src inventory.SecretSource) (string, error) {
	timeout := time.Duration(src.Timeout)
	if timeout <= 0 {
		timeout = inventory.DefaultSecretTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", src.Command)
	cmd.WaitDelay = time.Second // a child holding the pipes open must not hang the deploy
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return "", fmt.Errorf("command %q did not finish within %s", src.Command, timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		if msg != "" {
			msg = ": " + msg
		}
		return "", fmt.Errorf("command %q failed: %v%s", src.Command, err, msg)
	}
	return trimNewline(out.String()), nil
}

func trimNewline(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}
