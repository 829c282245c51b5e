package mirror_test

import (
	"testing"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestForbiddenDestination: a destination that answers 403 (nginx in
// front of a real registry, refusing reads or writes) fails the job after
// one attempt: a 403 on the manifest HEAD is never taken for a missing tag,
// and a refused write is never reported as copied or retried.
func TestForbiddenDestination(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 31))
	cases := []struct {
		name, location string
	}{
		{"reads refused", "deny all;"},
		{"writes refused", "limit_except GET HEAD { deny all; }"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proxy := testenv.StartNginxProxy(t, "http://"+dst.Host, testenv.NginxOptions{Location: c.location})
			for _, dryRun := range []bool{false, true} {
				res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: proxy.Host + "/app"}}, func(o *mirror.Options) {
					o.Retries, o.DryRun = 3, dryRun
				})
				if len(res) != 1 || res[0].Err != nil || len(res[0].Tags) != 1 {
					t.Fatalf("dry-run %v: results %+v", dryRun, res)
				}
				tag := res[0].Tags[0]
				wantDry := c.name == "writes refused" && dryRun // a dry run writes nothing to refuse
				switch {
				case wantDry && tag.Status != mirror.StatusWouldCopy:
					t.Errorf("dry-run: status %s (%v), want would-copy", tag.Status, tag.Err)
				case !wantDry && (tag.Status != mirror.StatusFailed || !isStatusErr(tag.Err, 403)):
					t.Errorf("dry-run %v: status %s (%v), want failed with the 403", dryRun, tag.Status, tag.Err)
				case !wantDry && tag.Attempts != 1:
					t.Errorf("dry-run %v: %d attempts, want 1: a 403 cannot heal", dryRun, tag.Attempts)
				}
			}
			if got := digestOf(t, dst.Host, "app", "1.0.0"); got != "" {
				t.Errorf("the destination holds app:1.0.0 = %s", got)
			}
		})
	}
}
