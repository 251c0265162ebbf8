package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	key, _ := ssh.ParsePublicKey(mustPublicKey(t))
	wrap := func(err error) error { return fmt.Errorf("ssh: handshake failed: %w", err) }
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"refused", opErr("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), ClassUnreachable},
		{"no route", opErr("dial", os.NewSyscallError("connect", syscall.EHOSTUNREACH)), ClassUnreachable},
		{"network unreachable", opErr("dial", syscall.ENETUNREACH), ClassUnreachable},
		{"dns", opErr("dial", &net.DNSError{Err: "no such host", Name: "web9", IsNotFound: true}), ClassUnreachable},
		{"jump host cannot connect", &ssh.OpenChannelError{Reason: ssh.ConnectionFailed, Message: "Connection refused"}, ClassUnreachable},
		{"deadline", wrap(opErr("read", os.ErrDeadlineExceeded)), ClassTimeout},
		{"context deadline", fmt.Errorf("connect: %w", context.DeadlineExceeded), ClassTimeout},
		{"cancelled", fmt.Errorf("connect: %w", context.Canceled), ClassCancelled},
		{"pool closed", ErrPoolClosed, ClassCancelled},
		{"auth text", wrap(errors.New("ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain")), ClassAuth},
		{"auth error", &AuthError{User: "root", Err: errors.New("x")}, ClassAuth},
		{"passphrase", wrap(&PassphraseError{Path: "/k", Err: ErrWrongPassphrase}), ClassAuth},
		{"unknown key", wrap(&knownhosts.KeyError{}), ClassHostKeyUnknown},
		{"changed key", wrap(&knownhosts.KeyError{Want: []knownhosts.KnownKey{{Key: key}}}), ClassHostKeyChanged},
		{"revoked", &knownhosts.RevokedError{}, ClassHostKeyChanged},
		{"host key error", wrap(&HostKeyError{Offered: key}), ClassHostKeyUnknown},
		{"EOF", io.EOF, ClassConnLost},
		{"reset", opErr("read", os.NewSyscallError("read", syscall.ECONNRESET)), ClassConnLost},
		{"closed", fmt.Errorf("write: %w", net.ErrClosed), ClassConnLost},
		{"exit missing", &ssh.ExitMissingError{}, ClassConnLost},
		{"something else", errors.New("ssh: unexpected message"), ClassConnLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			he := Classify("web1", tt.err)
			if he.Class != tt.want || he.Host != "web1" || !errors.Is(he, tt.err) {
				t.Errorf("Classify(%v) = %+v, want class %s", tt.err, he, tt.want)
			}
		})
	}
	if Classify("web1", nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	orig := &HostError{Host: "web2", Class: ClassTimeout, Err: io.EOF}
	if got := Classify("web1", fmt.Errorf("run: %w", orig)); got != orig {
		t.Errorf("a HostError inside is returned as is, got %+v", got)
	}
}

func mustPublicKey(t *testing.T) []byte {
	t.Helper()
	k, err := newKnownHosts(nil, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k.probe.Marshal()
}
