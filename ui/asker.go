package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// ErrNoPassphrase is returned to the engine when the user dismissed the
// passphrase dialog.
var ErrNoPassphrase = errors.New("no passphrase given")

// Asker carries the engine's questions (an unknown host key, a key's
// passphrase) to the console and its answers back. Its AcceptHostKey and
// Passphrase fit ops.Options: they block the engine's goroutine, never the
// UI's, until the user answers or the engine's context ends.
//
// A question whose asker gave up (the dial was cancelled) stays on screen;
// its answer is kept for the next time the same question comes (probes ask
// again within one refresh). The same question asked twice at once is put
// to the user once. A host-key answer holds for the session: a refused key
// is not asked about again.
type Asker struct {
	questions chan *question
	now       func() time.Time // the dialogs' clock; tests set it
	guard     time.Duration    // dialogGuard, or longer (SetGuard)

	mu       sync.Mutex
	front    time.Time            // when the front dialog last closed, showing the next one
	pending  map[string]*question // asked, not answered, by key
	decided  map[string]bool      // host-key answers, by key
	answered map[string][]byte    // passphrases answered after their asker gave up, used once
}

// question is one thing put to the user.
type question struct {
	key     string
	now     func() time.Time      // the asker's clock
	hostKey *remote.HostKeyPrompt // set for a host-key question
	keyPath string                // set for a passphrase question
	done    chan struct{}         // closed once answered
	accept  bool
	secret  []byte
}

// NewAsker returns an asker for one console session.
func NewAsker() *Asker {
	return &Asker{questions: make(chan *question, 64), now: time.Now, pending: map[string]*question{},
		decided: map[string]bool{}, answered: map[string][]byte{}}
}

// SetGuard lengthens how long a dialog ignores keys (dialogGuard at
// least: it can never be shortened). End-to-end tests on a loaded machine
// use it, where keys typed 100 ms apart can arrive 300 ms apart.
func (a *Asker) SetGuard(d time.Duration) {
	a.guard = max(d, dialogGuard)
}

// guardTime is how long a dialog ignores keys.
func (a *Asker) guardTime() time.Duration {
	return max(a.guard, dialogGuard)
}

// closed records that the front dialog closed at t: the next one is shown
// from then on, and its guard starts then.
func (a *Asker) closed(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.front = t
}

// lastClosed is when the front dialog last closed.
func (a *Asker) lastClosed() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.front
}

// AcceptHostKey asks whether to trust an unknown host key.
func (a *Asker) AcceptHostKey(ctx context.Context, p remote.HostKeyPrompt) (bool, error) {
	key := "hostkey " + p.Addr + " " + p.Fingerprint
	a.mu.Lock()
	if ok, seen := a.decided[key]; seen {
		a.mu.Unlock()
		return ok, nil
	}
	a.mu.Unlock()
	q, err := a.ask(ctx, &question{key: key, hostKey: &p})
	if err != nil {
		return false, err
	}
	return q.accept, nil
}

// Passphrase asks for the passphrase of the key at keyPath.
func (a *Asker) Passphrase(ctx context.Context, keyPath string) ([]byte, error) {
	key := "passphrase " + keyPath
	a.mu.Lock()
	if secret, ok := a.answered[key]; ok {
		delete(a.answered, key)
		a.mu.Unlock()
		return secret, nil
	}
	a.mu.Unlock()
	q, err := a.ask(ctx, &question{key: key, keyPath: keyPath})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	delete(a.answered, key) // taken here: a wrong one must be asked again
	a.mu.Unlock()
	if !q.accept {
		return nil, ErrNoPassphrase
	}
	return q.secret, nil
}

// ask puts q to the user, or joins the same question already asked, and
// waits for the answer or the end of ctx.
func (a *Asker) ask(ctx context.Context, q *question) (*question, error) {
	a.mu.Lock()
	if p, ok := a.pending[q.key]; ok {
		q = p
		a.mu.Unlock()
	} else {
		q.done, q.now = make(chan struct{}), a.now
		a.pending[q.key] = q
		a.mu.Unlock()
		select {
		case a.questions <- q:
		case <-ctx.Done():
			a.mu.Lock()
			delete(a.pending, q.key)
			a.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	select {
	case <-q.done:
		return q, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// answer records the user's answer to q and wakes whoever waits for it.
func (a *Asker) answer(q *question, accept bool, secret []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, open := a.pending[q.key]; !open {
		return
	}
	delete(a.pending, q.key)
	q.accept, q.secret = accept, secret
	if q.hostKey != nil {
		a.decided[q.key] = accept
	} else if accept {
		// Kept for the next ask in case this one's asker gave up; the
		// pool remembers a passphrase it got, so it is never asked again
		// otherwise. A stale entry is dropped at the next ask.
		a.answered[q.key] = secret
	}
	close(q.done)
}
