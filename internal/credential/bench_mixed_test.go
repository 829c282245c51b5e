package credential

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// benchLatency is what every HTTP request to a fake costs in
// BenchmarkMixedConfig, standing for the round trip to a cloud endpoint.
const benchLatency = 200 * time.Millisecond

// slowTransport delays every request by a fixed latency.
type slowTransport struct {
	latency time.Duration
	next    http.RoundTripper
}

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(s.latency):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return s.next.RoundTrip(r)
}

// BenchmarkMixedConfig resolves an ECR host (static keys), a GAR host
// (workload identity federation), a GitHub Actions host, a jwt-svid host
// (a real SPIRE agent) and a static host, with every HTTP request to the
// loopback fakes delayed by benchLatency. It reports the time of the
// slowest host alone, the sum of all hosts resolved one after another, and
// ResolveAll's time, which should stay near the slowest host:
//
//	FLUX_MIRROR_TESTENV_BIN=$(hack/testenv.sh) go test -run '^$' -bench MixedConfig ./internal/credential/
func BenchmarkMixedConfig(b *testing.B) {
	hosts, opts := mixedConfig(b)
	ctx := context.Background()
	// The first use of each SDK loads its configuration; measure the
	// steady state a CronJob run sees after start-up.
	if _, err := ResolveAll(ctx, ".", hosts, opts); err != nil {
		b.Fatal(err)
	}
	var slowest, sum, all time.Duration
	for b.Loop() {
		var runSlowest time.Duration
		for _, h := range hosts {
			start := time.Now()
			if _, err := Resolve(ctx, ".", h, opts); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			sum += d
			runSlowest = max(runSlowest, d)
		}
		slowest += runSlowest
		start := time.Now()
		if _, err := ResolveAll(ctx, ".", hosts, opts); err != nil {
			b.Fatal(err)
		}
		all += time.Since(start)
	}
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(slowest)/n, "slowest-host-ms")
	b.ReportMetric(float64(sum)/n, "sum-of-hosts-ms")
	b.ReportMetric(float64(all)/n, "resolveall-ms")
}

// mixedConfig starts the fakes and SPIRE, points the environment at them
// and returns the hosts and the options that reach them.
func mixedConfig(b *testing.B) ([]config.Host, Options) {
	b.Helper()
	fakecloud.IsolateGoogleAzure(b)
	fakecloud.IsolateAWS(b)
	home := b.TempDir()

	aws := fakecloud.NewAWS(b)
	id, key := aws.StaticKey()
	b.Setenv("AWS_ACCESS_KEY_ID", id)
	b.Setenv("AWS_SECRET_ACCESS_KEY", key)
	b.Setenv("AWS_ENDPOINT_URL_ECR", aws.URL)

	hn := fakecloud.NewHostNet(b)
	apis := fakecloud.NewGoogleAPIs(b, hn)
	subject := filepath.Join(home, "subject-token")
	wif := filepath.Join(home, "wif.json")
	if err := os.WriteFile(subject, []byte("projected-oidc-token"), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(wif, apis.ExternalAccountJSON(b, subject, ""), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("GOOGLE_APPLICATION_CREDENTIALS", wif)

	fakecloud.NewActions(b).Setenv(b)

	spire, err := testenv.StartSPIRE()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(spire.Stop)
	b.Setenv("SPIFFE_ENDPOINT_SOCKET", spire.SocketAddr)

	static := "static-token"
	hosts := []config.Host{
		{Host: "123456789012.dkr.ecr.us-west-2.amazonaws.com", Provider: config.ProviderECR},
		{Host: "europe-docker.pkg.dev", Provider: config.ProviderGAR},
		{Host: "ghcr.io", Credential: &config.Source{Provider: config.SourceGitHub}},
		{Host: "spiffe.example.com", Credential: &config.Source{Username: "spiffe", Provider: config.SourceSPIFFE}},
		{Host: "registry.example.com", Credential: &config.Source{Username: "robot", Value: &static}},
	}
	client := &http.Client{Transport: slowTransport{latency: benchLatency, next: hn.Client().Transport}}
	return hosts, Options{HTTPClient: client}
}
