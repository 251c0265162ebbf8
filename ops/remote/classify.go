package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Classify returns err as a *HostError of host, with the class an operator
// sorts the failure by. It returns nil for a nil err, and err itself when it
// already is (or wraps) a *HostError.
//
// The mapping: cancellation -> cancelled; host-key errors -> hostkey-unknown
// or hostkey-changed; rejected keys and passphrase failures -> auth-failed;
// a non-zero exit -> command-failed; deadlines and i/o timeouts -> timeout;
// refused connections, unreachable networks and DNS failures -> unreachable;
// EOF, resets and closed connections -> connection-lost. An error matching
// none of these is connection-lost too: something broke after the host was
// reached.
func Classify(host string, err error) *HostError {
	if err == nil {
		return nil
	}
	var he *HostError
	if errors.As(err, &he) {
		if he.Host == "" {
			return &HostError{Host: host, Class: he.Class, Err: he.Err}
		}
		return he
	}
	return &HostError{Host: host, Class: errorClass(err, ClassConnLost), Err: err}
}

// errorClass returns the class of err, or fallback when nothing in err says.
func errorClass(err error, fallback ErrorClass) ErrorClass {
	var (
		hostKey  *HostKeyError
		keyErr   *knownhosts.KeyError
		revoked  *knownhosts.RevokedError
		authErr  *AuthError
		passErr  *PassphraseError
		exitErr  *ssh.ExitError
		missing  *ssh.ExitMissingError
		openErr  *ssh.OpenChannelError
		dnsErr   *net.DNSError
		netErr   net.Error
		hostErr  *HostError
		msg      = err.Error()
		authText = strings.Contains(msg, "unable to authenticate") ||
			strings.Contains(msg, "no supported methods remain") ||
			strings.Contains(msg, "Too many authentication failures")
	)
	switch {
	case errors.As(err, &hostErr):
		return hostErr.Class
	case errors.Is(err, context.Canceled), errors.Is(err, ErrPoolClosed):
		return ClassCancelled
	case errors.As(err, &hostKey):
		return hostKey.Class()
	case errors.As(err, &keyErr):
		if len(keyErr.Want) == 0 {
			return ClassHostKeyUnknown
		}
		return ClassHostKeyChanged
	case errors.As(err, &revoked):
		return ClassHostKeyChanged
	case errors.As(err, &authErr), errors.As(err, &passErr), authText:
		return ClassAuth
	case errors.As(err, &exitErr):
		return ClassExit
	case errors.As(err, &missing):
		return ClassConnLost
	case errors.As(err, &dnsErr):
		return ClassUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN),
		errors.Is(err, syscall.ENETDOWN), errors.Is(err, syscall.EADDRNOTAVAIL):
		return ClassUnreachable
	case errors.As(err, &openErr) && openErr.Reason == ssh.ConnectionFailed:
		// A jump host could not reach the next hop.
		return ClassUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, net.ErrClosed):
		return ClassConnLost
	}
	return fallback
}

// HostKeyError reports a host key that was not trusted: unknown (and not
// accepted), changed, or revoked. Its Class tells which.
type HostKeyError struct {
	Host    string
	Addr    string
	Offered ssh.PublicKey
	// Known holds the keys known_hosts has for Addr; non-empty means the
	// host's key CHANGED (or the host offered a type none of them has).
	Known []knownhosts.KnownKey
	// Revoked is set when the offered key is marked @revoked.
	Revoked *knownhosts.KnownKey
	// Err says why an unknown key was not accepted: no prompt, refused,
	// or the prompt's own error.
	Err error
}

// Errors an unknown key carries in HostKeyError.Err.
var (
	ErrNoHostKeyPrompt = errors.New("strict host key checking: nobody to ask whether to trust it")
	ErrHostKeyRefused  = errors.New("refused")
)

// Class returns ClassHostKeyChanged for a changed or revoked key and
// ClassHostKeyUnknown otherwise.
func (e *HostKeyError) Class() ErrorClass {
	if len(e.Known) > 0 || e.Revoked != nil {
		return ClassHostKeyChanged
	}
	return ClassHostKeyUnknown
}

func (e *HostKeyError) Unwrap() error { return e.Err }

func (e *HostKeyError) Error() string {
	offered := describeKey(e.Offered)
	switch {
	case e.Revoked != nil:
		return fmt.Sprintf("host key of %s (%s) is REVOKED: it offered %s, marked @revoked at %s:%d; refusing to connect",
			e.Host, e.Addr, offered, e.Revoked.Filename, e.Revoked.Line)
	case len(e.Known) > 0:
		return fmt.Sprintf("REMOTE HOST IDENTIFICATION HAS CHANGED for %s (%s): it offered %s, but known_hosts has %s; "+
			"someone may be intercepting the connection (man-in-the-middle attack), or the host key was just replaced; "+
			"refusing to connect (if the change is expected, remove the old entry: %s)",
			e.Host, e.Addr, offered, describeKnown(e.Known), knownLocations(e.Known))
	}
	return fmt.Sprintf("host key of %s (%s) is unknown: it offered %s, which no known_hosts file lists; not accepted: %v",
		e.Host, e.Addr, offered, e.Err)
}

// Warning returns the multi-line warning OpenSSH prints for a changed key,
// for a terminal; for other host-key errors it returns Error().
func (e *HostKeyError) Warning() string {
	if len(e.Known) == 0 {
		return e.Error()
	}
	var b strings.Builder
	b.WriteString("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
	b.WriteString("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n")
	b.WriteString("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
	b.WriteString("IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n")
	b.WriteString("Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n")
	b.WriteString("It is also possible that a host key has just been changed.\n")
	fmt.Fprintf(&b, "The %s key sent by %s (%s) is:\n%s\n", e.Offered.Type(), e.Host, e.Addr, ssh.FingerprintSHA256(e.Offered))
	for _, k := range e.Known {
		fmt.Fprintf(&b, "Expected %s %s (%s:%d)\n", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line)
	}
	fmt.Fprintf(&b, "Host key verification failed; opsui refuses to connect to %s.\n", e.Host)
	return b.String()
}

func describeKey(k ssh.PublicKey) string {
	if k == nil {
		return "no key"
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

func describeKnown(known []knownhosts.KnownKey) string {
	parts := make([]string, len(known))
	for i, k := range known {
		parts[i] = fmt.Sprintf("%s (%s:%d)", describeKey(k.Key), k.Filename, k.Line)
	}
	return strings.Join(parts, ", ")
}

func knownLocations(known []knownhosts.KnownKey) string {
	parts := make([]string, len(known))
	for i, k := range known {
		parts[i] = fmt.Sprintf("%s line %d", k.Filename, k.Line)
	}
	return strings.Join(parts, ", ")
}

// ErrWrongPassphrase is the cause of a PassphraseError after every try failed.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// errNoPassphrasePrompt is the cause of a PassphraseError when no
// Options.Passphrase callback was given.
var errNoPassphrasePrompt = errors.New("the key is encrypted and there is no passphrase prompt")

// PassphraseError reports an encrypted identity file that could not be used:
// the passphrase was wrong every time, the prompt failed or was declined, or
// there was no prompt.
type PassphraseError struct {
	Path  string
	Tries int // passphrases tried, 0 if none was given
	Err   error
}

func (e *PassphraseError) Error() string {
	if e.Tries > 0 {
		return fmt.Sprintf("identity file %s: %v (%d tries)", e.Path, e.Err, e.Tries)
	}
	return fmt.Sprintf("identity file %s: %v", e.Path, e.Err)
}

func (e *PassphraseError) Unwrap() error { return e.Err }

// AuthError reports that a host accepted none of the keys offered.
type AuthError struct {
	User    string
	Addr    string
	Offered []string // the keys offered, in order: "agent: TYPE SHA256:...", "PATH (TYPE SHA256:...)"
	Skipped []string // identity files not offered, and why
	Err     error    // the ssh package's error
}

func (e *AuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "login as %s at %s: no key was accepted", e.User, e.Addr)
	if len(e.Offered) == 0 {
		b.WriteString(" (no key to offer: no agent and no usable identity file)")
	} else {
		fmt.Fprintf(&b, " (offered %s)", strings.Join(e.Offered, ", "))
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, "; skipped %s", strings.Join(e.Skipped, "; "))
	}
	return b.String()
}

func (e *AuthError) Unwrap() error { return e.Err }
