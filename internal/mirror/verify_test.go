package mirror_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/selector"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// checks is a SignatureCheck whose verdict per source digest the test
// sets, recording every call. The signature verification itself is
// sigverify's and is tested there against real signatures; this is the
// engine's gate around it.
type checks struct {
	mu      sync.Mutex
	verdict map[string]func() (*mirror.Verification, error)
	calls   []string
	sigTags map[string]bool
}

func (c *checks) check(_ context.Context, d name.Digest, sigTag bool, _ ...remote.Option) (*mirror.Verification, error) {
	c.mu.Lock()
	c.calls = append(c.calls, d.DigestStr())
	c.sigTags[d.DigestStr()] = sigTag
	f := c.verdict[d.DigestStr()]
	c.mu.Unlock()
	if f == nil {
		return nil, mirror.Refused(errors.New("no verdict"))
	}
	return f()
}

// TestVerifyGate: a tag is copied only after its source digest's check
// passes, dry runs included; a too-new signature skips it; a failed check
// fails it without a retry and stops the entry's later tags; tags that
// need no copy are not checked.
func TestVerifyGate(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ok := func() (*mirror.Verification, error) {
		return &mirror.Verification{Provider: "cosign", Issuer: "https://issuer.example", Identity: "ci@example.com"}, nil
	}
	tooNew := func() (*mirror.Verification, error) {
		return &mirror.Verification{Provider: "cosign", TooNew: true, MinAge: time.Hour}, nil
	}
	refused := func() (*mirror.Verification, error) {
		return nil, mirror.Refused(errors.New("no signature found"))
	}
	push := func(repo, tag string, seed uint64) string {
		return testenv.PushImage(t, src.Host, repo, tag, image(t, seed)).Digest.String()
	}
	entry := func(repo string, c *checks) mirror.Entry {
		return mirror.Entry{Source: src.Host + "/" + repo, Destination: dst.Host + "/" + repo,
			Selector: mustSelector(t, selector.Spec{SortBy: selector.SortAlphabetical}), Verify: c.check}
	}

	t.Run("verified, too new, up to date", func(t *testing.T) {
		good, young := push("a", "v3", 1), push("a", "v2", 2)
		push("a", "v1", 3)
		testenv.PushImage(t, dst.Host, "a", "v1", image(t, 3))
		// cosign's tag next to v3's digest: the plan's tag list says so.
		testenv.PushImage(t, src.Host, "a", strings.Replace(good, ":", "-", 1)+".sig", image(t, 4))
		c := &checks{verdict: map[string]func() (*mirror.Verification, error){good: ok, young: tooNew}, sigTags: map[string]bool{}}
		e := entry("a", c)
		e.Selector = mustSelector(t, selector.Spec{Pattern: `^v\d$`, SortBy: selector.SortAlphabetical})
		res := run(t, []mirror.Entry{e})
		got := statuses(res[0].Tags)
		if want := "v3=copied v2=skipped/signature-too-new v1=skipped/up-to-date"; got != want {
			t.Fatalf("tags: %s, want %s", got, want)
		}
		if v := res[0].Tags[0].Verification; v == nil || v.Identity != "ci@example.com" {
			t.Errorf("v3's verification: %+v", v)
		}
		if res[0].Tags[2].Verification != nil {
			t.Errorf("an up-to-date tag was checked: %+v", res[0].Tags[2].Verification)
		}
		if digestOf(t, dst.Host, "a", "v3") != good || digestOf(t, dst.Host, "a", "v2") != "" {
			t.Errorf("destination: v3 %q, v2 %q", digestOf(t, dst.Host, "a", "v3"), digestOf(t, dst.Host, "a", "v2"))
		}
		if len(c.calls) != 2 || !c.sigTags[good] || c.sigTags[young] {
			t.Errorf("checks %v, .sig tag known %v: want v3 and v2 checked, only v3 with a .sig tag", c.calls, c.sigTags)
		}
	})

	t.Run("dry run checks too", func(t *testing.T) {
		d := push("b", "v1", 5)
		c := &checks{verdict: map[string]func() (*mirror.Verification, error){d: ok}, sigTags: map[string]bool{}}
		before := dst.Snapshot(t)
		res := run(t, []mirror.Entry{entry("b", c)}, func(o *mirror.Options) { o.DryRun = true })
		if got := statuses(res[0].Tags); got != "v1=would-copy" || res[0].Tags[0].Verification == nil {
			t.Fatalf("tags: %s, verification %+v", got, res[0].Tags[0].Verification)
		}
		if after := dst.Snapshot(t); !maps.Equal(before, after) {
			t.Errorf("a dry run wrote:\n%s", diff(before, after))
		}
	})

	t.Run("a refusal stops the entry", func(t *testing.T) {
		bad := push("c", "v3", 6)
		push("c", "v2", 7)
		push("c", "v1", 8)
		c := &checks{verdict: map[string]func() (*mirror.Verification, error){bad: refused}, sigTags: map[string]bool{}}
		e := entry("c", c)
		// One job at a time: v3 is checked first and nothing after it starts.
		res := run(t, []mirror.Entry{e}, func(o *mirror.Options) { o.Concurrency = 1 })
		tags := res[0].Tags
		if got := statuses(tags); got != "v3=failed v2=failed v1=failed" {
			t.Fatalf("tags: %s", got)
		}
		if !strings.Contains(tags[0].Err.Error(), "signature check: no signature found") || tags[0].Attempts != 1 {
			t.Errorf("v3: %v after %d attempts, want the refusal, not retried", tags[0].Err, tags[0].Attempts)
		}
		if !strings.Contains(tags[1].Err.Error(), "not planned: the signature of tag v3 did not verify") {
			t.Errorf("v2: %v", tags[1].Err)
		}
		if len(c.calls) != 1 {
			t.Errorf("checks after the refusal: %v", c.calls)
		}
		for _, tag := range []string{"v1", "v2", "v3"} {
			if digestOf(t, dst.Host, "c", tag) != "" {
				t.Errorf("%s was copied", tag)
			}
		}
	})

	t.Run("a failed request is retried", func(t *testing.T) {
		d := push("d", "v1", 9)
		n := 0
		c := &checks{verdict: map[string]func() (*mirror.Verification, error){d: func() (*mirror.Verification, error) {
			if n++; n == 1 {
				return nil, errors.New("connection reset by peer")
			}
			return ok()
		}}, sigTags: map[string]bool{}}
		res := run(t, []mirror.Entry{entry("d", c)})
		if got := statuses(res[0].Tags); got != "v1=copied" || res[0].Tags[0].Attempts != 2 {
			t.Fatalf("tags: %s after %d attempts", got, res[0].Tags[0].Attempts)
		}
	})
}

// TestVerifyGateUnchecked: a check the registry keeps failing is no
// verdict, but no reason to trust the source either: the entry stops, and
// says the signature could not be checked.
func TestVerifyGateUnchecked(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "e", "v2", image(t, 10))
	testenv.PushImage(t, src.Host, "e", "v1", image(t, 11))
	calls := 0
	check := func(context.Context, name.Digest, bool, ...remote.Option) (*mirror.Verification, error) {
		calls++
		return nil, errors.New("connection reset by peer")
	}
	res := run(t, []mirror.Entry{{Source: src.Host + "/e", Destination: dst.Host + "/e", Verify: check,
		Selector: mustSelector(t, selector.Spec{SortBy: selector.SortAlphabetical})}},
		func(o *mirror.Options) { o.Concurrency, o.Retries = 1, 2 })
	tags := res[0].Tags
	if got := statuses(tags); got != "v2=failed v1=failed" || calls != 3 {
		t.Fatalf("tags: %s after %d checks, want both failed after v2's 3 attempts", got, calls)
	}
	if !strings.Contains(tags[1].Err.Error(), "not planned: the signature of tag v2 could not be checked") {
		t.Errorf("v1: %v", tags[1].Err)
	}
}

// statuses is "tag=status[/reason] ..." in result order.
func statuses(tags []mirror.TagResult) string {
	var out []string
	for _, t := range tags {
		s := t.Tag + "=" + t.Status
		if t.Reason != "" {
			s += "/" + t.Reason
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func mustSelector(t *testing.T, s selector.Spec) *selector.Selector {
	t.Helper()
	sel, err := selector.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
