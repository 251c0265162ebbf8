package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newClockAsker returns an asker on a clock the test moves.
func newClockAsker() (*Asker, *testClock) {
	c := &testClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	a := NewAsker()
	a.now = c.now
	return a, c
}

// newTestAsker returns an asker whose clock moves on a second at every
// reading: every key comes well after its dialog was shown, for tests of
// what the keys do rather than of the guard.
func newTestAsker() *Asker {
	a, c := newClockAsker()
	a.now = func() time.Time {
		c.advance(time.Second)
		return c.now()
	}
	return a
}

// answered returns what ch holds, or ok=false if nothing was answered.
func answered[T any](ch chan T) (v T, ok bool) {
	select {
	case v = <-ch:
		return v, true
	case <-time.After(200 * time.Millisecond):
		return v, false
	}
}

func TestHostKeyDialogIgnoresKeysTypedBeforeItCouldBeRead(t *testing.T) {
	asker, clock := newClockAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	prompt := remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:abcdefghijklmnop"}
	got := askAsync(func() (bool, error) { return asker.AcceptHostKey(context.Background(), prompt) })
	a = send(t, a, listenAsker(asker)())
	view := viewText(a)
	for _, want := range []string{"Trust this ssh-ed25519 key", "SHA256:abcdefghijklmnop", "web1"} {
		if !strings.Contains(view, want) {
			t.Errorf("the dialog does not name %q:\n%s", want, view)
		}
	}

	// The operator was typing "yes" into something else as the box came up.
	a = send(t, a, keys("y")...)
	clock.advance(100 * time.Millisecond)
	a = send(t, a, keys("e", "s")...)
	clock.advance(250 * time.Millisecond) // 350ms after showing, but only 250ms after the last key
	a = send(t, a, keys("y")...)
	if _, ok := answered(got); ok || len(a.dialogs.queue) != 1 {
		t.Fatal("a y typed while the dialog was coming up accepted the key")
	}
	// Enter in the guard does not refuse it either: nothing counts yet.
	clock.advance(100 * time.Millisecond)
	a = send(t, a, keys("enter")...)
	if len(a.dialogs.queue) != 1 {
		t.Fatal("a key in the guard closed the dialog")
	}

	clock.advance(dialogGuard)
	a = send(t, a, keys("y")...)
	if ok, answeredNow := answered(got); !answeredNow || !ok {
		t.Fatalf("y pressed after the guard: answered=%v accepted=%v", answeredNow, ok)
	}
	if len(a.dialogs.queue) != 0 {
		t.Fatal("the dialog stayed")
	}
}

func TestPassphraseDialogDropsTextTypedAsItOpened(t *testing.T) {
	asker, clock := newClockAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	got := askAsync(func() ([]byte, error) { return asker.Passphrase(context.Background(), "/home/op/.ssh/id_ed25519") })
	a = send(t, a, listenAsker(asker)())
	a = send(t, a, keys("l", "s", "enter")...) // a shell command typed into the wrong window
	if _, ok := answered(got); ok || len(a.dialogs.queue) != 1 {
		t.Fatal("text typed as the passphrase dialog opened was submitted")
	}
	if view := viewText(a); !strings.Contains(view, "keys typed as this box appeared were ignored") || strings.Contains(view, "••") {
		t.Errorf("the dialog does not say it dropped the keys, or kept them:\n%s", view)
	}
	clock.advance(dialogGuard)
	a = send(t, a, keys("p", "w", "enter")...)
	p, ok := answered(got)
	if !ok || string(p) != "pw" {
		t.Fatalf("passphrase = %q (answered %v), want %q", p, ok, "pw")
	}
}

// A dialog queued behind another is shown when that one closes: its guard
// starts then, so the key that answered the first does not, typed twice,
// answer the second.
func TestQueuedDialogGuardStartsWhenShown(t *testing.T) {
	asker, clock := newClockAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	first := remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:first"}
	second := remote.HostKeyPrompt{Host: "web2", Addr: "10.0.0.2:22", KeyType: "ecdsa-sha2-nistp256", Fingerprint: "SHA256:second"}
	got1 := askAsync(func() (bool, error) { return asker.AcceptHostKey(context.Background(), first) })
	a = send(t, a, listenAsker(asker)())
	got2 := askAsync(func() (bool, error) { return asker.AcceptHostKey(context.Background(), second) })
	a = send(t, a, listenAsker(asker)())
	if len(a.dialogs.queue) != 2 {
		t.Fatalf("%d dialogs, want 2", len(a.dialogs.queue))
	}
	clock.advance(time.Second)
	a = send(t, a, keys("y")...)
	if ok, done := answered(got1); !done || !ok {
		t.Fatal("the first key was not accepted")
	}
	clock.advance(50 * time.Millisecond)
	a = send(t, a, keys("y")...)
	if _, done := answered(got2); done {
		t.Fatal("a second y right after the first accepted the next key, unread")
	}
	if !strings.Contains(viewText(a), "SHA256:second") {
		t.Fatalf("the second dialog is not shown:\n%s", viewText(a))
	}
	clock.advance(dialogGuard)
	a = send(t, a, keys("n")...)
	if ok, done := answered(got2); !done || ok {
		t.Fatalf("n after the guard: answered=%v accepted=%v", done, ok)
	}
}

// SetGuard can lengthen the dialogs' guard (for end-to-end tests on a
// loaded machine) but never shorten it below dialogGuard.
func TestSetGuardOnlyLengthens(t *testing.T) {
	a := NewAsker()
	for _, c := range []struct{ set, want time.Duration }{
		{0, dialogGuard}, {time.Millisecond, dialogGuard}, {-time.Second, dialogGuard}, {2 * time.Second, 2 * time.Second},
	} {
		a.SetGuard(c.set)
		if got := a.guardTime(); got != c.want {
			t.Errorf("SetGuard(%s): guard %s, want %s", c.set, got, c.want)
		}
	}
	d := dialog{q: &question{}, shown: time.Unix(100, 0)}
	if !d.guarded(a, time.Unix(101, 0)) || d.guarded(a, time.Unix(102, 1)) {
		t.Error("a dialog shown at 100 with a 2s guard: want guarded at 101, not after 102")
	}
}
