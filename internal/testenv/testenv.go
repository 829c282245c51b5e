// Package testenv runs a real etcd and kube-apiserver on loopback for
// integration tests. It is imported only by _test.go files, never by the
// product binary.
//
// The binaries are built by `make testenv` (hack/testenv.sh) into a cache
// outside the repository; see BinDir. A missing binary is an error, never a
// skip: CI must run these tests.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// readyTimeout bounds how long Start waits for the API server.
const readyTimeout = 60 * time.Second

// BinDir returns the directory holding the peer binaries (etcd,
// kube-apiserver, registry, crane, oras):
// $FLUX_MIRROR_TESTENV_BIN if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/flux-mirror-testenv/bin, where
// hack/testenv.sh puts them.
func BinDir() string {
	if dir := os.Getenv("FLUX_MIRROR_TESTENV_BIN"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "flux-mirror-testenv", "bin")
}

// PinBinDir keeps BinDir where it is for the rest of the test, for a test
// that is about to change HOME (fakecloud.IsolateAWS does) and start peers
// after.
func PinBinDir(t testing.TB) {
	t.Setenv("FLUX_MIRROR_TESTENV_BIN", BinDir())
}

// Env is a running etcd and kube-apiserver on loopback.
type Env struct {
	URL    string // https://127.0.0.1:PORT
	CAData []byte // PEM of the CA that signed the serving certificate
	Dir    string // temporary directory holding certificates, data and logs

	tokens    map[string]string // user name -> bearer token
	procs     []*process        // in start order
	apiserver *process
	stopOnce  sync.Once
}

// Start starts etcd and kube-apiserver on free loopback ports and waits until
// the API server is ready and the default namespace exists. A missing binary
// is an error telling how to build it.
func Start() (*Env, error) {
	bin := BinDir()
	etcdBin := filepath.Join(bin, "etcd")
	apiBin := filepath.Join(bin, "kube-apiserver")
	for _, path := range []string{etcdBin, apiBin} {
		if err := checkBinary(path); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "flux-mirror-testenv-")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	e := &Env{Dir: dir}
	if err := e.start(etcdBin, apiBin); err != nil {
		e.Stop()
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return e, nil
}

// checkBinary fails unless path is an executable file.
func checkBinary(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("testenv: %s is missing: run `make testenv` (hack/testenv.sh) to build it, "+
			"or point FLUX_MIRROR_TESTENV_BIN at the directory it prints", path)
	case err != nil:
		return fmt.Errorf("testenv: %w", err)
	case st.IsDir() || st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("testenv: %s is not an executable file: run `make testenv` (hack/testenv.sh) to rebuild it", path)
	}
	return nil
}

// start writes the key material and token file, starts both processes and
// waits for readiness.
func (e *Env) start(etcdBin, apiBin string) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	p, err := writePKI(e.Dir)
	if err != nil {
		return err
	}
	e.CAData = p.caPEM
	tokenFile, err := e.writeTokens()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.Dir, "audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	e.URL = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	etcd, err := startProcess("etcd", etcdBin, filepath.Join(e.Dir, "etcd.log"),
		etcdArgs(filepath.Join(e.Dir, "etcd"), etcdPort, peerPort)...)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, etcd)
	api, err := startProcess("kube-apiserver", apiBin, filepath.Join(e.Dir, "kube-apiserver.log"),
		apiserverArgs(e.Dir, p, tokenFile, etcdPort, apiPort)...)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, api)
	e.apiserver = api
	return e.waitReady(readyTimeout)
}

// etcdArgs configures a single-member etcd on loopback. Its data is thrown
// away, so it skips fsync.
func etcdArgs(dataDir string, clientPort, peerPort int) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	return []string{
		"--name=testenv",
		"--data-dir=" + dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=testenv=" + peer,
		"--unsafe-no-fsync",
	}
}

// apiserverArgs configures kube-apiserver with static tokens and RBAC.
func apiserverArgs(dir string, p *pki, tokenFile string, etcdPort, port int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		// Without an explicit address it fails where there is no default route.
		"--advertise-address=127.0.0.1",
		// A loopback advertise address is refused by the endpoint reconciler.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + dir,
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert,
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.saKey,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		// Every request is recorded, so tests and benchmarks can count what
		// a client really sent (see Requests).
		"--audit-policy-file=" + filepath.Join(dir, "audit-policy.yaml"),
		"--audit-log-path=" + filepath.Join(dir, "audit.log"),
		"--audit-log-mode=blocking",
	}
}

// waitReady polls /readyz and the default namespace as admin every 100ms
// until both answer, a process exits, or timeout passes.
func (e *Env) waitReady(timeout time.Duration) error {
	cfg := e.Config(adminUser)
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range e.procs {
			if p.exited() {
				return fmt.Errorf("%s exited before the api server was ready (%v); log tail:\n%s", p.name, p.err, tail(p.log))
			}
		}
		err := probe(ctx, cs)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %s: %w; log tail:\n%s", timeout, err, e.Logs())
		case <-tick.C:
		}
	}
}

// probe returns nil once /readyz answers ok and the default namespace exists.
func probe(ctx context.Context, cs kubernetes.Interface) error {
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("readyz: %w", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("namespace default: %w", err)
	}
	return nil
}

// Stop kills both processes and removes Dir. It is safe to call more than
// once.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		for i := len(e.procs) - 1; i >= 0; i-- {
			e.procs[i].kill()
		}
		if e.Dir != "" {
			_ = os.RemoveAll(e.Dir)
		}
	})
}

// Logs returns the last lines of the kube-apiserver log, for test failure
// messages. After Stop the log is gone and Logs returns "".
func (e *Env) Logs() string {
	if e.apiserver == nil {
		return ""
	}
	return tail(e.apiserver.log)
}
