package remote

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
)

// delayConn delays every read by a fixed time: with it on the client side,
// each round trip to the host costs at least that long, as on a far link.
type delayConn struct {
	net.Conn
	delay time.Duration
}

func (c delayConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	time.Sleep(c.delay)
	return n, err
}

// TestRunOverASlowLink runs a command with 100 ms added to every read, the
// latency half of "100 ms and 2% loss". Loss needs the kernel's netem
// qdisc, which this kind of machine lacks ("Specified qdisc kind is unknown").
func TestRunOverASlowLink(t *testing.T) {
	f := sshtest.Start(t, 3)
	var d net.Dialer
	p := NewPool(Options{
		KnownHostsFiles: []string{f.KnownHostsPath},
		KeepAlive:       -1,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return delayConn{Conn: c, delay: 100 * time.Millisecond}, nil
		},
	})
	defer p.Close()
	var targets []Target
	for _, h := range f.Hosts {
		targets = append(targets, Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	var mu sync.Mutex
	out := map[string]string{}
	start := time.Now()
	res, err := Run(context.Background(), p, targets, "uname -n; seq 1 2000 | tail -1", RunOptions{}, func(ev Event) {
		if ev.Kind == EventStdout {
			mu.Lock()
			out[ev.Host] += ev.Line + "\n"
			mu.Unlock()
		}
	})
	if err != nil || res.OK != 3 {
		t.Fatalf("over a slow link: %v, %s", err, res.Summary())
	}
	for _, h := range f.Hosts {
		if out[h.Name] != h.Name+"\n2000\n" {
			t.Errorf("%s said %q", h.Name, out[h.Name])
		}
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("the delay was not applied (%s): the test proves nothing", took)
	}
}
