package testenv

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// SilentProxy is a proxy to an internet that is not there: it accepts
// connections, counts them and never answers. Everything it accepted is
// closed when the test ends.
func SilentProxy(t testing.TB) (addr string, accepted *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	accepted = &atomic.Int32{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), accepted
}

// UseProxy sends the test's HTTP and HTTPS requests that honour the
// environment through the proxy at addr, with no host exempt.
func UseProxy(t *testing.T, addr string) {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, "http://"+addr)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
}
