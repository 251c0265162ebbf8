package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// Target is everything needed to reach one host: the inventory's facts with
// ~/.ssh/config filled in where the inventory leaves them unset.
type Target struct {
	Name          string   // inventory name: the pool key and the label of every event
	Addr          string   // host:port to dial
	User          string   // login user
	IdentityFiles []string // private keys to offer, in order (after the agent's)
	// Jumps are the ProxyJump hosts, outermost first; each is dialed through
	// the one before it.
	Jumps        []Target
	ForwardAgent bool // only from the inventory: ssh_config's ForwardAgent is ignored
	// KnownHosts are the host's GlobalKnownHostsFile and UserKnownHostsFile
	// files from ssh_config, read besides Options' files; a key accepted
	// for the host is recorded in RecordKnownHosts (the first
	// UserKnownHostsFile; "" = Options.KnownHostsPath).
	KnownHosts       []string
	RecordKnownHosts string
	HashKnownHosts   bool // ssh_config's HashKnownHosts: record the host name hashed
}

// ErrorClass names why a host failed, the way an operator sorts failures.
type ErrorClass string

// The error classes.
const (
	ClassNone           ErrorClass = ""
	ClassUnreachable    ErrorClass = "unreachable"     // TCP connect failed: refused, no route, DNS
	ClassAuth           ErrorClass = "auth-failed"     // no offered key was accepted
	ClassHostKeyUnknown ErrorClass = "hostkey-unknown" // not in known_hosts and not accepted
	ClassHostKeyChanged ErrorClass = "hostkey-changed" // known_hosts holds a different key: possible MITM
	ClassTimeout        ErrorClass = "timeout"         // dial, handshake or command exceeded its deadline
	ClassConnLost       ErrorClass = "connection-lost" // the connection died mid-command
	ClassExit           ErrorClass = "command-failed"  // the command exited non-zero (or by a signal)
	ClassCancelled      ErrorClass = "cancelled"       // the run was cancelled (ctrl+c, abort)
)

// HostError is a failure of one host, with its class.
type HostError struct {
	Host  string
	Class ErrorClass
	Err   error
}

func (e *HostError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Host, e.Class, e.Err) }
func (e *HostError) Unwrap() error { return e.Err }

// HostCause is err without the "host: class:" prefix of an *HostError, for
// a line that names the host and class already; any other error unchanged.
func HostCause(err error) error {
	if he, ok := err.(*HostError); ok && he.Err != nil {
		return he.Err
	}
	return err
}

// ClassOf returns the class of err, or ClassNone when it carries none.
func ClassOf(err error) ErrorClass {
	var he *HostError
	if errors.As(err, &he) {
		return he.Class
	}
	return ClassNone
}

// EventKind says what happened to a host.
type EventKind int

// Event kinds, in the order a host goes through them.
const (
	EventQueued     EventKind = iota
	EventConnecting           // dialing / handshaking / authenticating
	EventStarted              // the command runs
	EventStdout               // Line holds one line of standard output
	EventStderr               // Line holds one line of standard error
	EventProgress             // Line holds the latest \r-updated progress text, or Bytes/Total an upload
	EventExited               // the command ended; Code and Duration are set (Code != 0 also sets Err, Class)
	EventFailed               // the host failed before or while running: Class and Err are set
	EventStage                // a pipeline (deploy, rollback) moved the host to the step named in Line
)

func (k EventKind) String() string {
	return [...]string{"queued", "connecting", "started", "stdout", "stderr", "progress", "exited", "failed", "stage"}[k]
}

// Event is one step of one host's part in a run. Each host's events arrive
// in order; events of different hosts interleave.
type Event struct {
	Host      string
	Kind      EventKind
	Time      time.Time
	Line      string // display text: valid UTF-8, at most MaxLineLen bytes
	Raw       []byte // the bytes as received (stdout, stderr), for the record
	Truncated bool   // the line was longer than MaxLineLen
	Code      int
	Duration  time.Duration
	Bytes     int64 // upload progress
	Total     int64
	Step      int // EventStage: the step's number, from 1 (0 when it is not one of the plan's steps)
	Steps     int // EventStage: how many steps the plan has
	Class     ErrorClass
	Err       error
}

// Connector hands out a connected client for a target: the pool in
// production, whatever a test needs otherwise.
type Connector interface {
	Client(ctx context.Context, t Target) (*ssh.Client, error)
}
