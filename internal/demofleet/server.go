// Package demofleet runs opsui's demo fleet: one small SSH server per demo
// host, each a process of its own on its own loopback address, that runs
// real commands with /bin/sh in the host's own directory. One host can be
// stopped, hung or slowed alone (Fleet.Inject, InjectFault). From opsui's side the hosts are real
// (public-key auth, host keys in a known_hosts file, exec, env, exit
// status, keepalives); on this side every command is a process of the user
// running the demo, so the fleet tracks what they start (daemons included)
// and kills all of it when it stops.
//
// It is for `opsui demo` only. opsui's own tests run against real OpenSSH
// (internal/sshtest).
package demofleet

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostConfig describes one demo host's SSH server.
type HostConfig struct {
	Name    string
	Addr    string   // listen address, host:port
	Dir     string   // the host's home and working directory
	Env     []string // KEY=VALUE added to every command's environment
	Shell   string   // runs commands as Shell -c CMD (default /bin/sh)
	HostKey ssh.Signer
	// Authorized is the only client key accepted.
	Authorized ssh.PublicKey
	// KillGrace is how long a command whose channel closed has between
	// SIGTERM and SIGKILL (default 2s).
	KillGrace time.Duration
}

// Server is one demo host's SSH server.
type Server struct {
	cfg   HostConfig
	ssh   *ssh.ServerConfig
	procs *Procs
	log   *log.Logger

	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[*ssh.ServerConn]struct{}

	latency atomic.Int64 // the "slow" fault: delay before each write, in ns
}

// SetLatency delays everything the server sends by d from now on, on open
// connections too (0: no delay): the demo's "slow" fault.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(max(d, 0))) }

// NewServer returns a server for cfg whose commands procs tracks. logger
// gets one line per connection problem (nil: discarded).
func NewServer(cfg HostConfig, procs *Procs, logger *log.Logger) (*Server, error) {
	if cfg.HostKey == nil || cfg.Authorized == nil {
		return nil, fmt.Errorf("demo host %s: a host key and an authorized client key are required", cfg.Name)
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 2 * time.Second
	}
	if logger == nil {
		logger = log.New(discard{}, "", 0)
	}
	want := cfg.Authorized.Marshal()
	sc := &ssh.ServerConfig{
		MaxAuthTries:  -1, // an agent may offer many keys before the demo's
		ServerVersion: "SSH-2.0-opsui-demo",
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(want) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown public key")
		},
	}
	sc.AddHostKey(cfg.HostKey)
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, ssh: sc, procs: procs, log: logger, ctx: ctx, cancel: cancel,
		conns: map[*ssh.ServerConn]struct{}{}}, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Listen binds the server's address and serves connections until Close.
func (s *Server) Listen(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("demo host %s: listen: %w", s.cfg.Name, err)
	}
	s.Serve(ln)
	return nil
}

// Serve serves connections from ln until Close, in the background.
func (s *Server) Serve(ln net.Listener) {
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handleConn(c)
			}()
		}
	}()
}

// Close stops listening, closes every connection (their running commands
// are killed) and waits for the server's goroutines, at most until ctx is
// done.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("demo host %s: close: %w", s.cfg.Name, ctx.Err())
	}
}

func (s *Server) handleConn(raw net.Conn) {
	c := newSlowConn(raw, &s.latency)
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // handshake
	sc, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	if err != nil {
		s.log.Printf("%s: handshake with %s: %v", s.cfg.Name, c.RemoteAddr(), err)
		return
	}
	c.SetDeadline(time.Time{})
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		sc.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		sc.Close()
	}()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for r := range reqs {
			// keepalive@openssh.com and anything else: answered, so a
			// client's keepalive sees the connection alive.
			if r.WantReply {
				r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "the demo host only runs commands")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.session(ch, creqs)
		}()
	}
	sessions.Wait()
}
