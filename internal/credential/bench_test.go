package credential

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// BenchmarkResolveAll resolves hosts whose sources each take a fixed
// latency, standing in for a network round trip. Because hosts resolve
// concurrently, wall-ms/op stays near one latency (latencies/op near 1)
// rather than growing with the number of hosts.
func BenchmarkResolveAll(b *testing.B) {
	const latency = 20 * time.Millisecond
	r := withFake(func(ctx context.Context, _ tokenRequest) (token, error) {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
			return token{value: "t"}, nil
		case <-ctx.Done():
			return token{}, ctx.Err()
		}
	})
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			hosts := make([]config.Host, n)
			for i := range hosts {
				hosts[i] = fakeHost(fmt.Sprintf("h%d.example", i))
			}
			ctx := context.Background()
			var iterations int
			start := time.Now()
			for b.Loop() {
				if _, err := r.resolveAll(ctx, ".", hosts); err != nil {
					b.Fatal(err)
				}
				iterations++
			}
			perOp := time.Since(start) / time.Duration(iterations)
			b.ReportMetric(float64(perOp)/float64(time.Millisecond), "wall-ms/op")
			b.ReportMetric(float64(perOp)/float64(latency), "latencies/op")
			b.ReportMetric(float64(n), "hosts")
		})
	}
}
