package registry

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// redirectingRegistry starts nginx serving a storage directory and a
// registry on that storage whose blob downloads redirect to nginx under
// storageName (127.0.0.1: the same name on another port, where Go's client
// would forward a header it was given; localhost: another host).
func redirectingRegistry(t *testing.T, storageName string, o testenv.RegistryOptions) (*testenv.Registry, *testenv.Nginx) {
	t.Helper()
	o.StorageDir = t.TempDir()
	storage := testenv.StartNginxStatic(t, o.StorageDir, testenv.NginxOptions{})
	o.RedirectURL = "http://" + strings.Replace(storage.Host, "127.0.0.1", storageName, 1)
	return testenv.StartRegistryWith(t, o), storage
}

// checkRedirectedBlobs fails the test unless the storage server served
// blobs, and none of its requests carried an Authorization header.
func checkRedirectedBlobs(t *testing.T, storage *testenv.Nginx, min int) {
	t.Helper()
	var gets []string
	settledLog(t, storage, func(lines []string) bool {
		gets = gets[:0]
		for _, l := range lines {
			if strings.HasPrefix(l, "GET ") {
				gets = append(gets, l)
			}
		}
		return len(gets) >= min
	})
	if len(gets) < min {
		t.Fatalf("storage served %d blobs, want at least %d: the registry did not redirect", len(gets), min)
	}
	for _, l := range gets {
		if !strings.Contains(l, " 200 ") {
			t.Errorf("storage did not serve: %s", l)
		}
		if !strings.Contains(l, "auth=none") {
			t.Errorf("a redirected blob request carried the registry's credential: %s", l)
		}
	}
}

// TestRedirectCarriesNoCredential: a registry that redirects blob downloads
// to another port gets its credential, the redirected requests do not.
func TestRedirectCarriesNoCredential(t *testing.T) {
	t.Run("username challenge", func(t *testing.T) {
		const user, password = "carol", "redirect-test-password"
		reg, storage := redirectingRegistry(t, "127.0.0.1", testenv.RegistryOptions{Debian: true, User: user, Password: password})
		r, _ := newRegistries(t, t.TempDir(), config.Host{
			Host: reg.Host, Credential: &config.Source{Username: user, Value: new(password)},
		})
		// Both layers come from the storage server.
		roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())
		checkRedirectedBlobs(t, storage, 2)
		checkLogShowsAuth(t, storage)
	})

	// Go's client forwards a header its caller set to the same name on
	// another port; the transport drops it there.
	t.Run("a header the caller set", func(t *testing.T) {
		const user, password = "dave", "caller-set-password"
		reg, storage := redirectingRegistry(t, "127.0.0.1", testenv.RegistryOptions{Debian: true, User: user, Password: password})
		r, _ := newRegistries(t, t.TempDir(), config.Host{
			Host: reg.Host, Credential: &config.Source{Username: user, Value: new(password)},
		})
		img := randomImage(t, 1, 1024)
		if err := push(reg.Host+"/demo/app:v1", img, r.RemoteOptions()); err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		digest, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodGet, "http://"+reg.Host+"/v2/demo/app/blobs/"+digest.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, password)
		resp, err := (&http.Client{Transport: r.rt}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != storage.Host {
			t.Fatalf("got %s from %s, want 200 from the storage server %s", resp.Status, resp.Request.URL.Host, storage.Host)
		}
		checkRedirectedBlobs(t, storage, 1)
	})
}

// checkLogShowsAuth proves that the storage server's log would show a
// credential: a request with an Authorization header is logged as such.
func checkLogShowsAuth(t *testing.T, storage *testenv.Nginx) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+storage.Host+"/probe", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer probe")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var probe string
	settledLog(t, storage, func(lines []string) bool {
		for _, l := range lines {
			if strings.Contains(l, "/probe") {
				probe = l
			}
		}
		return probe != ""
	})
	if !strings.Contains(probe, "auth=present") {
		t.Fatalf("the storage log does not show a credential it was sent: %q", probe)
	}
}

// settledLog reads nginx's access log until done accepts it, for up to 5 s:
// nginx logs a request once it is done with it, which can be a moment after
// the client has read the response.
func settledLog(t *testing.T, n *testenv.Nginx, done func([]string) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !done(n.AccessLog(t)) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}
