package ops

import (
	"net"
	"time"
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
// latency half of "100 ms and 2% loss". Loss needs the kernel's netem, which
