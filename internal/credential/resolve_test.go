package credential

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

func ptr(s string) *string { return &s }

// withFake returns a resolver whose credential provider "fake" is src.
func withFake(src tokenSource) resolver {
	r := newResolver(Options{})
	r.tokenProviders["fake"] = src
	return r
}

func fakeHost(name string) config.Host {
	return config.Host{Host: name, Credential: &config.Source{Provider: "fake"}}
}

func TestValue(t *testing.T) {
	ctx := context.Background()
	bearer, err := Resolve(ctx, t.TempDir(), config.Host{
		Host:       "ghcr.io",
		Credential: &config.Source{Value: ptr("tok")},
	}, Options{})
	if err != nil || bearer != (Credential{Host: "ghcr.io", Token: "tok"}) {
		t.Errorf("bearer: %#v, %v", bearer, err)
	}
	basic, err := Resolve(ctx, t.TempDir(), config.Host{
		Host:       "localhost:5000",
		Credential: &config.Source{Username: "admin", Value: ptr("pw")},
	}, Options{})
	if err != nil || basic != (Credential{Host: "localhost:5000", Username: "admin", Password: "pw"}) {
		t.Errorf("basic: %#v, %v", basic, err)
	}
	_, err = Resolve(ctx, t.TempDir(), config.Host{Host: "x.io", Credential: &config.Source{Value: ptr("")}}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), `host "x.io": credential.value is empty`) {
		t.Errorf("empty value: err = %v", err)
	}
}

func TestNothingToResolve(t *testing.T) {
	var calls atomic.Int32
	r := withFake(func(context.Context, tokenRequest) (token, error) {
		calls.Add(1)
		return token{value: "t"}, nil
	})
	hosts := []config.Host{
		fakeHost("a.example"),
		{Host: "tls.example", TLS: &config.TLS{}},
		{Host: "chunk.example", MaxChunkSize: 0},
	}
	creds, err := r.resolveAll(context.Background(), ".", hosts)
	if err == nil || creds != nil {
		t.Fatalf("resolveAll = %v, %v; want an error", creds, err)
	}
	for _, h := range []string{"tls.example", "chunk.example"} {
		if !strings.Contains(err.Error(), fmt.Sprintf("host %q: has no credential or provider", h)) {
			t.Errorf("error does not name %s: %v", h, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("sources ran although the host list was refused")
	}
	if _, err := Resolve(context.Background(), ".", hosts[1], Options{}); err == nil {
		t.Error("Resolve of a tls-only host succeeded")
	}
}

// TestResolveAllOrder makes the hosts finish in reverse order: each waits for
// the next one. The results must still come back in input order.
func TestResolveAllOrder(t *testing.T) {
	const n = 6
	finished := make([]chan struct{}, n+1)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	close(finished[n])
	index := map[string]int{}
	var hosts []config.Host
	for i := range n {
		name := fmt.Sprintf("h%d.example", i)
		index[name] = i
		hosts = append(hosts, fakeHost(name))
	}
	r := withFake(func(ctx context.Context, req tokenRequest) (token, error) {
		i := index[req.host]
		defer close(finished[i])
		select {
		case <-finished[i+1]:
			return token{value: "token-of-" + req.host}, nil
		case <-ctx.Done():
			return token{}, ctx.Err()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds, err := r.resolveAll(ctx, ".", hosts)
	if err != nil {
		t.Fatalf("resolveAll: %v", err)
	}
	for i, c := range creds {
		if c.Host != hosts[i].Host || c.Token != "token-of-"+hosts[i].Host {
			t.Errorf("creds[%d] = %v (token %q), want host %s", i, c, c.Token, hosts[i].Host)
		}
	}
}

// TestResolveAllConcurrent proves the hosts resolve at the same time: each
// source waits until all of them have started, which a serial
// implementation never reaches before ctx ends.
func TestResolveAllConcurrent(t *testing.T) {
	const n = 8
	var started atomic.Int32
	all := make(chan struct{})
	r := withFake(func(ctx context.Context, req tokenRequest) (token, error) {
		if started.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return token{value: "t"}, nil
		case <-ctx.Done():
			return token{}, fmt.Errorf("only %d of %d hosts started: %w", started.Load(), n, ctx.Err())
		}
	})
	hosts := make([]config.Host, n)
	for i := range hosts {
		hosts[i] = fakeHost(fmt.Sprintf("h%d.example", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds, err := r.resolveAll(ctx, ".", hosts)
	if err != nil || len(creds) != n {
		t.Fatalf("resolveAll: %d credentials, %v", len(creds), err)
	}
}

func TestResolveAllAllOrNothing(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "token", "file-token")
	hosts := []config.Host{
		{Host: "ok1.example", Credential: &config.Source{Value: ptr("v")}},
		{Host: "bad1.example", Credential: &config.Source{FromPath: "missing"}},
		{Host: "ok2.example", Credential: &config.Source{FromPath: "token"}},
		{Host: "bad2.example", Provider: config.ProviderECR},
		{Host: "bad3.example", Credential: &config.Source{JWKValue: ptr("{}"), Issuer: "i", Subject: "s"}},
	}
	creds, err := ResolveAll(context.Background(), root, hosts, Options{})
	if err == nil || creds != nil {
		t.Fatalf("ResolveAll = %v, %v; want no credentials and an error", creds, err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"bad1.example", "bad2.example", "bad3.example"}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i, h := range want {
		if !strings.HasPrefix(lines[i], fmt.Sprintf("host %q: ", h)) {
			t.Errorf("line %d = %q, want it to name %s", i, lines[i], h)
		}
	}

	creds, err = ResolveAll(context.Background(), root, []config.Host{hosts[0], hosts[2]}, Options{})
	if err != nil || len(creds) != 2 || creds[0].Token != "v" || creds[1].Token != "file-token" {
		t.Errorf("ResolveAll of the good hosts = %v, %v", creds, err)
	}
}
