package registry

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestMaxChunkSizeThroughProxy: behind nginx with client_max_body_size 1m,
// a 3 MiB layer is refused with an error that names the setting, and with
// maxChunkSize 512 it goes up as PATCHes of at most 512 KiB, each with a
// Content-Range, and reads back with the same digests.
func TestMaxChunkSizeThroughProxy(t *testing.T) {
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true})
	img := randomImage(t, 1, 3<<20)

	t.Run("without maxChunkSize", func(t *testing.T) {
		proxy := testenv.StartNginxProxy(t, "http://"+reg.Host, testenv.NginxOptions{MaxBodySize: "1m"})
		r, _ := newRegistries(t, t.TempDir())
		err := push(proxy.Host+"/demo/big:v1", img, r.RemoteOptions())
		if err == nil || !strings.Contains(err.Error(), "maxChunkSize") || !strings.Contains(err.Error(), proxy.Host) {
			t.Fatalf("err = %v, want one naming maxChunkSize and %s", err, proxy.Host)
		}
		t.Logf("without maxChunkSize: %v", err)
	})

	t.Run("with maxChunkSize 512", func(t *testing.T) {
		// A proxy of its own: nginx logs a refused request only when
		// the client has gone, which may be after this test started.
		proxy := testenv.StartNginxProxy(t, "http://"+reg.Host, testenv.NginxOptions{MaxBodySize: "1m"})
		r, log := newRegistries(t, t.TempDir(), config.Host{Host: proxy.Host, MaxChunkSize: 512})
		ref := proxy.Host + "/demo/big:v2"
		if err := push(ref, img, r.RemoteOptions()); err != nil {
			t.Fatalf("push: %v", err)
		}
		got, err := pull(ref, r.RemoteOptions())
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		if want, _ := img.Digest(); got != want {
			t.Fatalf("pulled %s, pushed %s", got, want)
		}
		// 3 MiB of layer in 512 KiB chunks is at least 6 PATCHes.
		checkPatches(t, proxy, 512<<10, 6)
		if log.count("chunks of at most 524288 bytes") == 0 {
			t.Errorf("no chunked upload logged: %v", log.lines)
		}
	})
}

var patchLine = regexp.MustCompile(`^PATCH ([^? ]+)\S* (\d+) auth=\S+ range=(\d+)-(\d+) length=(\d+)$`)

// checkPatches checks that nginx's access log holds at least min PATCHes,
// each accepted and carrying a Content-Range matching its length of at most
// max bytes, and that the ranges of each upload (uploads run in parallel)
// follow on.
func checkPatches(t *testing.T, proxy *testenv.Nginx, max int64, min int) {
	t.Helper()
	var lines []string
	settledLog(t, proxy, func(l []string) bool {
		lines = l
		return strings.Count(strings.Join(l, "\n"), "PATCH ") >= min
	})
	n := 0
	next := map[string]int64{} // by upload path
	for _, l := range lines {
		if !strings.HasPrefix(l, "PATCH ") {
			continue
		}
		m := patchLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("PATCH without a range: %s", l)
			continue
		}
		upload := m[1]
		start, _ := strconv.ParseInt(m[3], 10, 64)
		end, _ := strconv.ParseInt(m[4], 10, 64)
		length, _ := strconv.ParseInt(m[5], 10, 64)
		if m[2] != "202" || end-start+1 != length || length > max {
			t.Errorf("bad chunk: %s", l)
		}
		if start != next[upload] {
			t.Errorf("chunk starts at %d, want %d: %s", start, next[upload], l)
		}
		next[upload] = end + 1
		n++
	}
	if n < min {
		t.Errorf("%d PATCHes through the proxy, want at least %d", n, min)
	}
}

// TestChunkOutOfOrder: a registry that answers 416 to a chunk (its upload
// is further along than the chunk's start) gives an error that says so and
// names the host. Distribution v3 checks the range; 2.8 does not.
func TestChunkOutOfOrder(t *testing.T) {
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{})
	r, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, MaxChunkSize: 1})
	client := &http.Client{Transport: r.rt}
	do := func(method, url string, body []byte, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	start := do(http.MethodPost, "http://"+reg.Host+"/v2/demo/app/blobs/uploads/", nil, nil)
	first, _ := nextLocation(start)
	// 10 bytes already in the upload, sent as one chunk by hand.
	resp := do(http.MethodPatch, first.String(), make([]byte, 10), map[string]string{"Content-Range": "0-9"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first chunk: %s", resp.Status)
	}
	next, _ := nextLocation(resp)
	// The chunked upload starts again at 0.
	req, err := http.NewRequest(http.MethodPatch, next.String(), bytes.NewReader(make([]byte, 3000)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = r.rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "416") || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("err = %v, want a 416 error naming %s", err, reg.Host)
	}
	t.Logf("out of order: %v", err)
}
