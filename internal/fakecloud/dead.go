// Package fakecloud holds loopback fakes of the cloud endpoints that the
// credential providers call, speaking the real wire protocols to the real
// SDKs. It is test support: only _test.go files import it.
package fakecloud

import (
	"net"
	"sync"
	"testing"
)

// Dead starts a loopback TCP listener that accepts every connection and
// never answers on it, the way a black-holed or hung endpoint behaves, and
// returns its address (127.0.0.1:PORT). The listener and its connections
// are closed when the test ends.
func Dead(t testing.TB) (addr string) {
	t.Helper()
	return deadOn(t, "tcp", "127.0.0.1:0")
}

// DeadUnix is Dead on a unix socket at path, for a Workload API agent that
// hangs.
func DeadUnix(t testing.TB, path string) {
	t.Helper()
	deadOn(t, "unix", path)
}

func deadOn(t testing.TB, network, address string) string {
	t.Helper()
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatalf("fakecloud: listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
