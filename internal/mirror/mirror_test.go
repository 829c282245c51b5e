package mirror_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// isolate hides the host's Docker config, so that the default keychain
// holds nothing.
func isolate(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

// run mirrors entries with test defaults changed by opts.
func run(t *testing.T, entries []mirror.Entry, opts ...func(*mirror.Options)) []mirror.EntryResult {
	t.Helper()
	o := mirror.Options{Transport: remote.DefaultTransport, Concurrency: 4, Retries: 1, Timeout: time.Minute}
	for _, f := range opts {
		f(&o)
	}
	m, err := mirror.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m.Run(context.Background(), entries)
}

// digestOf returns the digest host/repo:tag names, or "" when it is missing.
func digestOf(t *testing.T, host, repo, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

func image(t *testing.T, seed uint64) testenv.ImageSpec {
	return testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, seed, 4096)}}
}

// TestDecisionTable runs every row of the compare-and-copy table against
// two real registries, each row in its own repository.
func TestDecisionTable(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	rows := []struct {
		name      string
		dest      string // "", "same" or "other": what the destination tag holds
		overwrite bool
		dryRun    bool
		want      string
		wantWrite bool
	}{
		{name: "same digest", dest: "same", want: mirror.StatusSkipped},
		{name: "same digest overwrite dry-run", dest: "same", overwrite: true, dryRun: true, want: mirror.StatusSkipped},
		{name: "missing", want: mirror.StatusCopied, wantWrite: true},
		{name: "missing overwrite", overwrite: true, want: mirror.StatusCopied, wantWrite: true},
		{name: "missing dry-run", dryRun: true, want: mirror.StatusWouldCopy},
		{name: "other digest", dest: "other", want: mirror.StatusDrifted},
		{name: "other digest dry-run", dest: "other", dryRun: true, want: mirror.StatusDrifted},
		{name: "other digest overwrite", dest: "other", overwrite: true, want: mirror.StatusOverwritten, wantWrite: true},
		{name: "other digest overwrite dry-run", dest: "other", overwrite: true, dryRun: true, want: mirror.StatusWouldOverwrite},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			repo := "row" + string(rune('a'+i))
			want := testenv.PushImage(t, src.Host, repo, "v1", image(t, uint64(i)))
			switch row.dest {
			case "same":
				testenv.PushImage(t, dst.Host, repo, "v1", image(t, uint64(i)))
			case "other":
				testenv.PushImage(t, dst.Host, repo, "v1", image(t, 1000+uint64(i)))
			}
			before, beforeDigest := dst.Snapshot(t), digestOf(t, dst.Host, repo, "v1")

			res := run(t, []mirror.Entry{{Source: src.Host + "/" + repo, Destination: dst.Host + "/" + repo, Overwrite: row.overwrite}},
				func(o *mirror.Options) { o.DryRun = row.dryRun })

			if len(res) != 1 || res[0].Err != nil || len(res[0].Tags) != 1 {
				t.Fatalf("results: %+v", res)
			}
			tag := res[0].Tags[0]
			if tag.Status != row.want || tag.Err != nil {
				t.Fatalf("status %q (err %v), want %q", tag.Status, tag.Err, row.want)
			}
			if tag.Digest != want.Digest.String() {
				t.Errorf("digest %s, want the source's %s", tag.Digest, want.Digest)
			}
			if row.want == mirror.StatusSkipped && tag.Reason != mirror.ReasonUpToDate {
				t.Errorf("reason %q, want %q", tag.Reason, mirror.ReasonUpToDate)
			}
			if row.dest == "other" && tag.DestinationDigest != beforeDigest {
				t.Errorf("destination digest %q, want %q", tag.DestinationDigest, beforeDigest)
			}
			got := digestOf(t, dst.Host, repo, "v1")
			if row.wantWrite {
				if got != want.Digest.String() {
					t.Errorf("destination holds %q, want %s", got, want.Digest)
				}
				return
			}
			if got != beforeDigest {
				t.Errorf("destination tag changed from %q to %q", beforeDigest, got)
			}
			if after := dst.Snapshot(t); !maps.Equal(before, after) {
				t.Errorf("destination storage changed on a row that writes nothing:\n%s", diff(before, after))
			}
		})
	}
}

// TestDestinationRefusal: a destination that answers 401 fails the job;
// it is never taken for a missing tag, never copied.
func TestDestinationRefusal(t *testing.T) {
	isolate(t)
	src := testenv.StartSyncRegistry(t)
	dst := testenv.StartHtpasswdRegistry(t, "mirror", "not-given-to-the-client")
	testenv.PushImage(t, src.Host, "app", "v1", image(t, 1))
	for _, dryRun := range []bool{false, true} {
		res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: dst.Host + "/app"}},
			func(o *mirror.Options) { o.DryRun = dryRun; o.Retries = 3 })
		tag := res[0].Tags[0]
		if tag.Status != mirror.StatusFailed || tag.Err == nil {
			t.Fatalf("dry-run %v: status %q, err %v; want failed", dryRun, tag.Status, tag.Err)
		}
		if !strings.Contains(tag.Err.Error(), "UNAUTHORIZED") && !strings.Contains(tag.Err.Error(), "401") {
			t.Errorf("error %q does not say the destination refused", tag.Err)
		}
		if tag.Attempts != 1 {
			t.Errorf("a 401 was attempted %d times, want 1 (no retry)", tag.Attempts)
		}
	}
}

// TestPlanFailureFailsItsEntryOnly: an entry whose source cannot be listed
// fails; the next entry still runs.
func TestPlanFailureFailsItsEntryOnly(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "v1", image(t, 1))
	res := run(t, []mirror.Entry{
		{Source: src.Host + "/absent", Destination: dst.Host + "/absent"},
		{Source: src.Host + "/app", Destination: dst.Host + "/app"},
	})
	if len(res) != 2 || res[0].Err == nil || len(res[0].Tags) != 0 {
		t.Fatalf("first entry: %+v, want a failed plan", res[0])
	}
	if res[1].Err != nil || res[1].Tags[0].Status != mirror.StatusCopied {
		t.Fatalf("second entry: %+v, want copied", res[1])
	}
	// A 404 of the source cannot heal: listed once, not retried.
	if n := testenv.CountRequests(src.AccessLog(t), "GET", "/v2/absent/tags/list", 404); n != 1 {
		t.Errorf("the absent source was listed %d times, want 1", n)
	}
}

func diff(a, b map[string]string) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, "- "+k+" "+v)
		}
	}
	for k, v := range b {
		if a[k] != v {
			out = append(out, "+ "+k+" "+v)
		}
	}
	return strings.Join(out, "\n")
}

// hashes returns the digests of descs.
func hashes(descs []v1.Descriptor) []string {
	out := make([]string, len(descs))
	for i, d := range descs {
		out[i] = d.Digest.String()
	}
	return out
}

// TestUnreachableDestinationIsRetried: a refused connection may heal, so
// the job is attempted 1+Retries times and then fails.
func TestUnreachableDestinationIsRetried(t *testing.T) {
	isolate(t)
	src := testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "v1", image(t, 1))
	var retries []mirror.Event
	res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: "127.0.0.1:1/app"}}, func(o *mirror.Options) {
		o.Retries = 2
		o.Events = func(ev mirror.Event) {
			if ev.Kind == mirror.Retrying {
				retries = append(retries, ev)
			}
		}
	})
	tag := res[0].Tags[0]
	if tag.Status != mirror.StatusFailed || tag.Attempts != 3 || len(retries) != 2 {
		t.Fatalf("status %s after %d attempts (%d retry events): %v; want failed after 3", tag.Status, tag.Attempts, len(retries), tag.Err)
	}
	if retries[0].Wait != 200*time.Millisecond || retries[1].Wait != 400*time.Millisecond {
		t.Errorf("backoff %s, %s; want 200ms, 400ms", retries[0].Wait, retries[1].Wait)
	}
}

func isStatusErr(err error, code int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

// TestChainedEntries: tag lists are fetched ahead of an entry's turn, but
// an entry whose source an earlier entry writes to is listed in its turn,
// so a chain a -> b -> c carries a new tag all the way in one run.
func TestChainedEntries(t *testing.T) {
	isolate(t)
	reg := testenv.StartSyncRegistry(t)
	p := testenv.PushImage(t, reg.Host, "a", "v1", image(t, 77))
	entries := []mirror.Entry{
		{Source: reg.Host + "/a", Destination: reg.Host + "/b"},
		{Source: reg.Host + "/b", Destination: reg.Host + "/c"},
	}
	res := run(t, entries)
	for i, r := range res {
		if r.Err != nil || len(r.Tags) != 1 || r.Tags[0].Status != mirror.StatusCopied {
			t.Errorf("entry %d: %+v", i, r)
		}
	}
	if got := digestOf(t, reg.Host, "c", "v1"); got != p.Digest.String() {
		t.Errorf("c:v1 = %q, want %s", got, p.Digest)
	}
}

// TestEntriesShareTheJobSlots: independent entries may overlap, but never
// more than Concurrency jobs run at once across the run, results come in
// config order, and EntryFinished events arrive in config order too.
func TestEntriesShareTheJobSlots(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	var entries []mirror.Entry
	for _, repo := range []string{"one", "two", "three"} {
		for i, tag := range []string{"1.0.0", "1.1.0", "1.2.0"} {
			img := testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, uint64(len(repo)*10+i), 1<<20)}}
			testenv.PushImage(t, src.Host, repo, tag, img)
		}
		entries = append(entries, mirror.Entry{Source: src.Host + "/" + repo, Destination: dst.Host + "/" + repo})
	}
	var (
		mu               sync.Mutex
		running, most    int
		finished         []int
		overlapped       bool
		lastEntryStarted = -1
	)
	res := run(t, entries, func(o *mirror.Options) {
		o.Concurrency = 2
		o.Events = func(ev mirror.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch ev.Kind {
			case mirror.JobStarted:
				running++
				most = max(most, running)
				if ev.Entry > lastEntryStarted && lastEntryStarted >= 0 && running > 1 {
					overlapped = true
				}
				lastEntryStarted = max(lastEntryStarted, ev.Entry)
			case mirror.JobFinished:
				running--
			case mirror.EntryFinished:
				finished = append(finished, ev.Entry)
			}
		}
	})
	if most == 0 || most > 2 {
		t.Errorf("%d jobs ran at once, want 1 or 2", most)
	}
	if !slices.Equal(finished, []int{0, 1, 2}) {
		t.Errorf("EntryFinished order %v", finished)
	}
	for i, r := range res {
		if r.Source != entries[i].Source || len(r.Tags) != 3 {
			t.Fatalf("result %d: %+v", i, r)
		}
		for _, tr := range r.Tags {
			if tr.Status != mirror.StatusCopied {
				t.Errorf("%s:%s %s %v", r.Source, tr.Tag, tr.Status, tr.Err)
			}
		}
	}
	t.Logf("an entry's jobs started while an earlier entry's were running: %v", overlapped)
}
