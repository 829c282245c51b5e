package testenv

import (
	"context"
	"fmt"
	"net"
)

// DialAs returns a dialer that sends connections to name:80 to addr, a
// loopback peer's host:port, and dials every other address as usual. It
// lets a client reach a local registry under a cloud registry's name, on
// plain HTTP; other ports of name are refused, so that an https attempt
// fails at once instead of reaching the peer's HTTP port.
func DialAs(name, addr string) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, port, _ := net.SplitHostPort(address); host == name {
			if port != "80" {
				return nil, fmt.Errorf("testenv: %s is served on plain HTTP (port 80) only", name)
			}
			address = addr
		}
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
}
