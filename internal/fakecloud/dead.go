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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakecloud: listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
