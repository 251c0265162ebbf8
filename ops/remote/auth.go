package remote

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// passphraseTries is how often a passphrase is asked for before the key is
// given up, as OpenSSH's NumberOfPasswordPrompts.
const passphraseTries = 3

// agentDialTimeout bounds the connection to a local ssh-agent socket.
const agentDialTimeout = 2 * time.Second

// keyring loads identity files once for the life of a pool: a decrypted key
// is kept so that its passphrase is asked for once. It is safe for
// concurrent use.
type keyring struct {
	prompt func(ctx context.Context, keyPath string) ([]byte, error)

	mu   sync.Mutex
	keys map[string]*identity
}

// identity is one identity file.
type identity struct {
	path string
	lock chan struct{} // one slot: held while loading or decrypting

	// Guarded by lock.
	loaded bool
	pub    ssh.PublicKey
	raw    []byte     // the encrypted key, until decrypted
	signer ssh.Signer // nil until decrypted
	err    error      // the file cannot be used (sticky)
}

func newKeyring(prompt func(context.Context, string) ([]byte, error)) *keyring {
	return &keyring{prompt: prompt, keys: make(map[string]*identity)}
}

// keyState is a snapshot of an identity, taken under its lock.
type keyState struct {
	pub    ssh.PublicKey
	signer ssh.Signer // nil while still encrypted
	err    error      // the file cannot be used
}

// get returns path's identity, loaded, and a snapshot of its state.
func (kr *keyring) get(ctx context.Context, path string) (*identity, keyState, error) {
	kr.mu.Lock()
	id := kr.keys[path]
	if id == nil {
		id = &identity{path: path, lock: make(chan struct{}, 1)}
		kr.keys[path] = id
	}
	kr.mu.Unlock()
	if err := id.acquire(ctx); err != nil {
		return nil, keyState{}, err
	}
	defer id.release()
	if !id.loaded {
		id.load()
		id.loaded = true
	}
	return id, keyState{pub: id.pub, signer: id.signer, err: id.err}, nil
}

func (id *identity) acquire(ctx context.Context) error {
	select {
	case id.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (id *identity) release() { <-id.lock }

// load reads the file; an encrypted key keeps its raw bytes and public key
// (from the file itself, else from PATH.pub) until a host wants it.
func (id *identity) load() {
	raw, err := os.ReadFile(id.path)
	if err != nil {
		id.err = err
		return
	}
	signer, err := ssh.ParsePrivateKey(raw)
	if err == nil {
		id.signer, id.pub = signer, signer.PublicKey()
		return
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		id.err = fmt.Errorf("%s: not a usable private key: %w", id.path, err)
		return
	}
	id.raw, id.pub = raw, missing.PublicKey
	if id.pub == nil {
		if b, err := os.ReadFile(id.path + ".pub"); err == nil {
			id.pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
		}
	}
}

// decrypt returns id's signer, asking for the passphrase if needed. Errors
// other than the caller's cancellation are kept: the user is not asked again
// for a key they could not or would not unlock.
func (kr *keyring) decrypt(ctx context.Context, id *identity, pause func() func()) (ssh.Signer, error) {
	resume := pause() // waiting for another host's prompt is no handshake time either
	defer resume()
	if err := id.acquire(ctx); err != nil {
		return nil, err
	}
	defer id.release()
	if id.signer != nil || id.err != nil {
		return id.signer, id.err
	}
	if kr.prompt == nil {
		id.err = &PassphraseError{Path: id.path, Err: errNoPassphrasePrompt}
		return nil, id.err
	}
	for try := 1; try <= passphraseTries; try++ {
		pass, err := kr.prompt(ctx, id.path)
		if err != nil {
			perr := &PassphraseError{Path: id.path, Tries: try - 1, Err: err}
			if ctx.Err() == nil {
				id.err = perr
			}
			return nil, perr
		}
		signer, err := ssh.ParsePrivateKeyWithPassphrase(id.raw, pass)
		clear(pass)
		switch {
		case err == nil:
			id.signer, id.raw = signer, nil
			return signer, nil
		case !errors.Is(err, x509.IncorrectPasswordError):
			id.err = &PassphraseError{Path: id.path, Tries: try, Err: err}
			return nil, id.err
		}
	}
	id.err = &PassphraseError{Path: id.path, Tries: passphraseTries, Err: ErrWrongPassphrase}
	return nil, id.err
}

// lazySigner is an encrypted identity offered by its public key alone: its
// passphrase is asked for only when a host accepts the key and a signature
// is needed.
type lazySigner struct {
	kr    *keyring
	id    *identity
	pub   ssh.PublicKey
	ctx   context.Context
	pause func() func()
}

func (s *lazySigner) PublicKey() ssh.PublicKey { return s.pub }

func (s *lazySigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(rand, data, "")
}

func (s *lazySigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	signer, err := s.kr.decrypt(s.ctx, s.id, s.pause)
	if err != nil {
		return nil, err
	}
	if as, ok := signer.(ssh.AlgorithmSigner); ok {
		return as.SignWithAlgorithm(rand, data, algorithm)
	}
	if algorithm != "" && algorithm != signer.PublicKey().Type() {
		return nil, fmt.Errorf("identity file %s: cannot sign with %s", s.id.path, algorithm)
	}
	return signer.Sign(rand, data)
}

// authAttempt is the authentication of one handshake: the single publickey
// method (the ssh package tries each method name once, so agent keys and
// identity files must go in one list) and a record of what was offered.
type authAttempt struct {
	mu      sync.Mutex
	offered []string
	skipped []string
	agent   net.Conn // closed by done
}

// auth returns the publickey method for t: the agent's keys (when
// agentSock is set and answers), then t's identity files, each key once.
// Call done after the handshake.
func (kr *keyring) auth(ctx context.Context, t Target, agentSock string, pause func() func()) (*authAttempt, ssh.AuthMethod) {
	a := &authAttempt{}
	return a, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		var signers []ssh.Signer
		seen := make(map[string]bool)
		for _, s := range a.agentSigners(ctx, agentSock) {
			seen[string(s.PublicKey().Marshal())] = true
			signers = append(signers, s)
			a.offer("agent: " + describeKey(s.PublicKey()))
		}
		// Another host may hold a key's lock while its passphrase is asked.
		resume := pause()
		defer resume()
		for _, path := range t.IdentityFiles {
			id, st, err := kr.get(ctx, path)
			if err != nil {
				return nil, err // cancelled
			}
			switch {
			case errors.Is(st.err, fs.ErrNotExist):
				a.skip(path + ": no such file")
				continue
			case st.err != nil:
				a.skip(st.err.Error())
				continue
			case st.pub == nil:
				a.skip(path + ": encrypted, and its public key is in neither the file nor " + path + ".pub")
				continue
			case seen[string(st.pub.Marshal())]:
				continue
			}
			seen[string(st.pub.Marshal())] = true
			a.offer(fmt.Sprintf("%s (%s)", path, describeKey(st.pub)))
			if st.signer != nil {
				signers = append(signers, st.signer)
			} else {
				signers = append(signers, &lazySigner{kr: kr, id: id, pub: st.pub, ctx: ctx, pause: pause})
			}
		}
		return signers, nil
	})
}

// agentSigners returns the keys of the agent at sock, or none when sock is
// unset or dead.
func (a *authAttempt) agentSigners(ctx context.Context, sock string) []ssh.Signer {
	if sock == "" {
		return nil
	}
	d := net.Dialer{Timeout: agentDialTimeout}
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil // a stale SSH_AUTH_SOCK is common and harmless
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil
	}
	a.mu.Lock()
	if a.agent != nil {
		a.agent.Close()
	}
	a.agent = conn
	a.mu.Unlock()
	return signers
}

func (a *authAttempt) offer(s string) {
	a.mu.Lock()
	a.offered = append(a.offered, s)
	a.mu.Unlock()
}

func (a *authAttempt) skip(s string) {
	a.mu.Lock()
	a.skipped = append(a.skipped, s)
	a.mu.Unlock()
}

// done closes the agent connection used for the handshake.
func (a *authAttempt) done() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agent != nil {
		a.agent.Close()
		a.agent = nil
	}
}

// error wraps err, a failed handshake's, as an *AuthError when the host
// accepted no key; other errors are returned as they are.
func (a *authAttempt) error(t Target, err error) error {
	var perr *PassphraseError
	if errors.As(err, &perr) {
		return err
	}
	if errorClass(err, ClassNone) != ClassAuth {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return &AuthError{User: t.User, Addr: t.Addr, Offered: a.offered, Skipped: a.skipped, Err: err}
}

// forwardAgent makes client answer the host's agent requests with the agent
// at sock. It can be done once per client.
func forwardAgent(client *ssh.Client, sock string) error {
	if err := agent.ForwardToRemote(client, sock); err != nil {
		return fmt.Errorf("agent forwarding: %w", err)
	}
	return nil
}

// requestAgentForwarding asks the host to forward agent requests of session
// s back to us.
func requestAgentForwarding(s *ssh.Session) error {
	if err := agent.RequestAgentForwarding(s); err != nil {
		return fmt.Errorf("agent forwarding: %w", err)
	}
	return nil
}

// Session opens a session on the connection to t, with agent forwarding when
// t.ForwardAgent is set. A pooled connection found dead is dialed again once.
// The open session keeps the connection in use until it is closed.
func (p *Pool) Session(ctx context.Context, t Target) (*ssh.Session, error) {
	for attempt := 0; ; attempt++ {
		lease, err := p.Acquire(ctx, t)
		if err != nil {
			return nil, err
		}
		s, err := newClientSession(ctx, lease.Client)
		if err == nil {
			err = p.PrepareSession(t, lease.Client, s)
			lease.Release()
			if err != nil {
				s.Close()
				return nil, &HostError{Host: t.Name, Class: ClassAuth, Err: err}
			}
			return s, nil
		}
		lease.Release()
		if ctx.Err() != nil {
			return nil, Classify(t.Name, fmt.Errorf("open session on %s: %w", t.Addr, ctx.Err()))
		}
		if attempt == 0 && errorClass(err, ClassNone) == ClassConnLost {
			p.discard(lease.c)
			continue
		}
		return nil, Classify(t.Name, fmt.Errorf("open session on %s: %w", t.Addr, err))
	}
}

// newClientSession opens a session, giving up when ctx ends (a session that
// arrives later is closed).
func newClientSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := client.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// PrepareSession turns on agent forwarding for session s on client (a
// client of this pool) when t.ForwardAgent is set and an agent is
// configured; otherwise it does nothing. Session calls it already. sshd
// takes one forwarding request per connection, for all its sessions: only
// the first session of a connection sends it, and the others wait for it.
func (p *Pool) PrepareSession(t Target, client *ssh.Client, s *ssh.Session) error {
	if !t.ForwardAgent || p.opts.AgentSocket == "" {
		return nil
	}
	p.mu.Lock()
	c := p.clients[client]
	p.mu.Unlock()
	if c == nil {
		return fmt.Errorf("agent forwarding to %s: client is not from this pool", t.Name)
	}
	c.agent.Lock()
	defer c.agent.Unlock()
	if !c.agentHandler {
		if err := forwardAgent(client, p.opts.AgentSocket); err != nil {
			return err
		}
		c.agentHandler = true
	}
	if !c.agentRequested {
		if err := requestAgentForwarding(s); err != nil {
			return err
		}
		c.agentRequested = true
	}
	return nil
}
