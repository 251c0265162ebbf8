package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/charmbracelet/x/term"
)

// promptPassphrase asks for a key's passphrase on the controlling terminal,
// one prompt at a time; without a terminal the key cannot be used.
func promptPassphrase(c *cli) func(ctx context.Context, keyPath string) ([]byte, error) {
	var mu sync.Mutex
	return func(ctx context.Context, keyPath string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil, errors.New("no terminal to ask for the passphrase (load the key into ssh-agent)")
		}
		defer tty.Close()
		fmt.Fprintf(tty, "Passphrase for %s: ", keyPath)
		pass, err := term.ReadPassword(tty.Fd())
		fmt.Fprintln(tty)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		return pass, ctx.Err()
	}
}
