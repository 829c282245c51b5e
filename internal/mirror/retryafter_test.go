package mirror_test

import (
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestRetryAfterHonoured puts nginx's limit_req in front of the
// destination: one manifest PUT per 2s, the rest refused with 429 and
// Retry-After: 2. Two tags copied one after the other: the second's PUT is
// refused, its job waits the 2s the server asked (not the 200ms backoff)
// and then succeeds.
func TestRetryAfterHonoured(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	proxy := testenv.StartNginxProxy(t, "http://"+dst.Host, testenv.NginxOptions{
		HTTP: `map "$request_method:$uri" $fm_put_manifest { "~^PUT:.*/manifests/" put; default ""; }
  limit_req_zone $fm_put_manifest zone=putmanifest:1m rate=30r/m;`,
		Location: `limit_req zone=putmanifest;
      limit_req_status 429;
      add_header Retry-After 2 always;`,
	})
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 1))
	testenv.PushImage(t, src.Host, "app", "1.1.0", image(t, 2))

	var retries []mirror.Event
	res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: proxy.Host + "/app"}}, func(o *mirror.Options) {
		o.Concurrency, o.Retries = 1, 3
		o.Events = func(ev mirror.Event) {
			if ev.Kind == mirror.Retrying {
				retries = append(retries, ev)
			}
		}
	})
	wantAll(t, res, mirror.StatusCopied)
	if len(retries) != 1 || retries[0].Wait != 2*time.Second {
		t.Fatalf("retries %+v, want one after the 2s Retry-After", retries)
	}
	if !isStatusErr(retries[0].Err, 429) {
		t.Errorf("the retried error is %v, want the 429", retries[0].Err)
	}
}
