package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyPrompt describes a host key that no known_hosts file lists, for
// Options.AcceptHostKey to accept or refuse.
type HostKeyPrompt struct {
	Host        string        // the inventory name
	Addr        string        // host:port as dialed; the known_hosts entry is made for it
	KeyType     string        // e.g. ssh-ed25519
	Fingerprint string        // SHA256:...
	Key         ssh.PublicKey // the key itself
}

// knownHosts checks host keys against known_hosts files and records the keys
// the user accepts. A target's own files (from ssh_config) are read besides
// the pool's; a key is recorded in the target's RecordKnownHosts, else in
// opsui's own file. It is safe for concurrent use.
type knownHosts struct {
	files  []string // read-only files (the user's ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)
	own    string   // opsui's file: read, and appended to on accept ("" = none)
	hash   bool     // write hashed host names
	accept func(context.Context, HostKeyPrompt) (bool, error)

	prompting chan struct{} // a one-slot lock: one prompt at a time

	mu    sync.Mutex          // guards the fields below and appends to the files
	dbs   map[string]*hostsDB // by the files' paths, joined
	probe ssh.PublicKey       // a key no file holds, to list a host's keys
}

// hostsDB is the checker of one list of files, read again when one changes.
type hostsDB struct {
	stamps []fileStamp
	check  ssh.HostKeyCallback // nil when no file exists
}

// fileStamp identifies a version of a file, to reload it when it changes.
type fileStamp struct {
	size int64
	mod  time.Time
	ok   bool
}

func newKnownHosts(files []string, own string, hash bool, accept func(context.Context, HostKeyPrompt) (bool, error)) (*knownHosts, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &knownHosts{
		files:     slices.Clone(files),
		own:       own,
		hash:      hash,
		accept:    accept,
		prompting: make(chan struct{}, 1),
		dbs:       make(map[string]*hostsDB),
		probe:     probe,
	}, nil
}

// paths returns every file consulted for t: the pool's read-only ones,
// t's own (ssh_config's), then opsui's.
func (k *knownHosts) paths(t Target) []string {
	paths := slices.Concat(k.files, t.KnownHosts)
	if k.own != "" {
		paths = append(paths, k.own)
	}
	return dedupe(paths)
}

// db returns the checker for the current contents of t's files, reading
// them again when one changed since the last call.
func (k *knownHosts) db(t Target) (ssh.HostKeyCallback, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	paths := k.paths(t)
	stamps := make([]fileStamp, len(paths))
	var existing []string
	for i, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			stamps[i] = fileStamp{size: fi.Size(), mod: fi.ModTime(), ok: true}
			existing = append(existing, p)
		}
	}
	key := strings.Join(paths, "\x00")
	if db := k.dbs[key]; db != nil && slices.Equal(stamps, db.stamps) {
		return db.check, nil
	}
	var check ssh.HostKeyCallback
	if len(existing) > 0 {
		var err error
		if check, err = knownhosts.New(existing...); err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	k.dbs[key] = &hostsDB{stamps: stamps, check: check}
	return check, nil
}

// probeAddr is the remote address passed with lookups: knownhosts checks the
// host name when one is given, but needs a parsable remote address.
var probeAddr = &net.TCPAddr{IP: net.IPv4zero}

// known returns the keys t's files hold for t.Addr (host:port).
func (k *knownHosts) known(t Target) ([]knownhosts.KnownKey, error) {
	check, err := k.db(t)
	if err != nil || check == nil {
		return nil, err
	}
	var ke *knownhosts.KeyError
	if err := check(t.Addr, probeAddr, k.probe); errors.As(err, &ke) {
		return ke.Want, nil
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

// defaultHostKeyAlgorithms is the order host-key algorithms are asked for
// when known_hosts has nothing for a host: the fastest to verify first.
var defaultHostKeyAlgorithms = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// algorithms returns the host-key algorithms to ask t for: those of the
// keys known for it first, so that a host with a known ed25519 key is not
// reported as changed because it offered another type, then the rest.
func (k *knownHosts) algorithms(t Target) []string {
	known, _ := k.known(t) // a broken file shows up in the check itself
	var algos []string
	for _, kk := range known {
		t := kk.Key.Type()
		if t == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		} else {
			algos = append(algos, t)
		}
	}
	return dedupe(append(algos, defaultHostKeyAlgorithms...))
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// callback returns the HostKeyCallback for one handshake with target t.
// pause suspends the handshake deadline while a prompt waits for the user;
// the returned function resumes it.
func (k *knownHosts) callback(ctx context.Context, t Target, pause func() (resume func())) ssh.HostKeyCallback {
	name := t.Name
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		addr := hostname
		err := k.verify(t, addr, remote, key)
		var he *HostKeyError
		if !errors.As(err, &he) || he.Class() != ClassHostKeyUnknown {
			if he != nil {
				he.Host = name
			}
			return err
		}
		he.Host = name
		if k.accept == nil {
			he.Err = ErrNoHostKeyPrompt
			return he
		}
		resume := pause()
		defer resume()
		return k.ask(ctx, t, he)
	}
}

// verify checks key against t's files and returns nil or a *HostKeyError.
func (k *knownHosts) verify(t Target, addr string, remote net.Addr, key ssh.PublicKey) error {
	check, err := k.db(t)
	if err != nil {
		return err
	}
	if check == nil {
		return &HostKeyError{Addr: addr, Offered: key}
	}
	err = check(addr, remote, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke):
		return &HostKeyError{Addr: addr, Offered: key, Known: ke.Want}
	case errors.As(err, &re):
		return &HostKeyError{Addr: addr, Offered: key, Revoked: &re.Revoked}
	}
	return fmt.Errorf("known_hosts: %w", err)
}

// ask puts the unknown key of he to the user, one prompt at a time, and
// records it when accepted.
func (k *knownHosts) ask(ctx context.Context, t Target, he *HostKeyError) error {
	select {
	case k.prompting <- struct{}{}:
		defer func() { <-k.prompting }()
	case <-ctx.Done():
		return ctx.Err()
	}
	// Another prompt may have accepted this very key meanwhile.
	if err := k.verify(t, he.Addr, probeAddr, he.Offered); err == nil {
		return nil
	}
	ok, err := k.accept(ctx, HostKeyPrompt{
		Host:        he.Host,
		Addr:        he.Addr,
		KeyType:     he.Offered.Type(),
		Fingerprint: ssh.FingerprintSHA256(he.Offered),
		Key:         he.Offered,
	})
	switch {
	case err != nil:
		he.Err = err
		return he
	case !ok:
		he.Err = ErrHostKeyRefused
		return he
	}
	if err := k.add(t, he.Addr, he.Offered); err != nil {
		return fmt.Errorf("recording the host key of %s: %w", he.Host, err)
	}
	return nil
}

// add appends a line for key at addr to t's RecordKnownHosts, else to
// opsui's known_hosts file, creating it (and its directory) private, with
// the host name hashed when the options or t's HashKnownHosts ask. One
// mutex and O_APPEND keep concurrent accepts from interleaving.
func (k *knownHosts) add(t Target, addr string, key ssh.PublicKey) error {
	file := k.own
	if t.RecordKnownHosts != "" {
		file = t.RecordKnownHosts
	}
	if file == "" {
		return errors.New("no known_hosts file of opsui's to record it in")
	}
	host := knownhosts.Normalize(addr)
	if k.hash || t.HashKnownHosts {
		host = knownhosts.HashHostname(host)
	}
	line := knownhosts.Line([]string{addr}, key)
	line = host + line[strings.IndexByte(line, ' '):] + "\n"

	k.mu.Lock()
	defer k.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && !endsWithNewline(file, fi.Size()) {
		line = "\n" + line
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	clear(k.dbs) // read the files again on the next check
	return err
}

// endsWithNewline reports whether the file at path, of the given size, ends
// with a newline (a hand-edited file may not).
func endsWithNewline(path string, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}
