package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// The identities StartSPIRE sets up.
const (
	// SPIRETrustDomain is the trust domain of the test SPIRE server.
	SPIRETrustDomain = "example.org"
	// SPIREIssuer is the iss claim of the JWT-SVIDs it signs.
	SPIREIssuer = "https://oidc.example.org"
	// SPIREWorkloadID is the SPIFFE ID issued to processes running with
	// the test's uid.
	SPIREWorkloadID = "spiffe://example.org/flux-mirror"
	spireAgentID    = "spiffe://example.org/testenv/agent"
)

// spireReadyTimeout bounds each wait of StartSPIRE: for the server's API,
// and for the first JWT-SVID, which a cold agent issues after about 5 s.
const spireReadyTimeout = 20 * time.Second

// SPIRE is a running SPIRE server and agent on loopback and unix sockets.
// The agent issues SPIREWorkloadID to every process of the current uid.
type SPIRE struct {
	// SocketAddr is the agent's Workload API, the value for
	// SPIFFE_ENDPOINT_SOCKET (unix:///…/api.sock).
	SocketAddr string
	// Dir is the temporary directory holding configs, data, sockets, logs.
	Dir string
	// FirstSVID is how long after the agent started the first JWT-SVID
	// could be fetched.
	FirstSVID time.Duration

	serverBin    string
	serverSocket string
	procs        []*process
	stopOnce     sync.Once
}

// StartSPIRE starts spire-server and spire-agent from BinDir, attests the
// agent with a join token, registers SPIREWorkloadID for the current uid,
// and waits until the agent hands out a JWT-SVID. A missing binary is an
// error telling how to build it.
func StartSPIRE() (*SPIRE, error) {
	bin := BinDir()
	serverBin, agentBin := filepath.Join(bin, "spire-server"), filepath.Join(bin, "spire-agent")
	for _, path := range []string{serverBin, agentBin} {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("testenv: %s is missing: run `hack/testenv.sh spire` (or `make testenv`) to build "+
				"SPIRE, or point FLUX_MIRROR_TESTENV_BIN at a directory holding spire-server and spire-agent", path)
		}
		if err := checkBinary(path); err != nil {
			return nil, err
		}
	}
	// Unix socket paths are limited to about 100 bytes: keep Dir short.
	dir, err := os.MkdirTemp("", "spire-")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	s := &SPIRE{
		Dir:          dir,
		SocketAddr:   "unix://" + filepath.Join(dir, "agent", "api.sock"),
		serverBin:    serverBin,
		serverSocket: filepath.Join(dir, "server", "api.sock"),
	}
	if err := s.start(agentBin); err != nil {
		s.Stop()
		return nil, fmt.Errorf("testenv: spire: %w", err)
	}
	return s, nil
}

// start runs the server, enrolls the agent and the workload, runs the agent
// and waits for the first JWT-SVID.
func (s *SPIRE) start(agentBin string) error {
	serverConf, agentConf, err := s.writeConfigs()
	if err != nil {
		return err
	}
	server, err := startProcess("spire-server", s.serverBin, filepath.Join(s.Dir, "server", "server.log"),
		"run", "-config", serverConf)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, server)
	joinToken, err := s.enroll()
	if err != nil {
		return err
	}
	agent, err := startProcess("spire-agent", agentBin, filepath.Join(s.Dir, "agent", "agent.log"),
		"run", "-config", agentConf, "-joinToken", joinToken)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, agent)
	start := time.Now()
	err = s.retry(func(ctx context.Context) error {
		_, err := s.FetchJWTSVID(ctx, "testenv-probe")
		return err
	})
	if err != nil {
		return fmt.Errorf("no JWT-SVID from the agent: %w", err)
	}
	s.FirstSVID = time.Since(start)
	return nil
}

// writeConfigs writes the server's and the agent's config files, the
// server listening on a free loopback port.
func (s *SPIRE) writeConfigs() (serverConf, agentConf string, err error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", "", err
	}
	for _, sub := range []string{"server", "agent"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, sub, "data"), 0o700); err != nil {
			return "", "", err
		}
	}
	serverConf = filepath.Join(s.Dir, "server", "server.conf")
	agentConf = filepath.Join(s.Dir, "agent", "agent.conf")
	if err := os.WriteFile(serverConf, []byte(s.serverConfig(ports[0])), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(agentConf, []byte(s.agentConfig(ports[0])), 0o600); err != nil {
		return "", "", err
	}
	return serverConf, agentConf, nil
}

// enroll waits for the server's API, then returns a join token for the
// agent and registers SPIREWorkloadID under the agent for the current uid.
func (s *SPIRE) enroll() (joinToken string, err error) {
	var out string
	err = s.retry(func(ctx context.Context) error {
		var err error
		out, err = s.serverCommand(ctx, "token", "generate", "-spiffeID", spireAgentID, "-ttl", "600")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("generate a join token: %w", err)
	}
	joinToken, ok := strings.CutPrefix(strings.TrimSpace(out), "Token: ")
	if !ok {
		return "", fmt.Errorf("spire-server token generate printed %q, want \"Token: …\"", out)
	}
	_, err = s.serverCommand(context.Background(), "entry", "create", "-parentID", spireAgentID,
		"-spiffeID", SPIREWorkloadID, "-selector", "unix:uid:"+strconv.Itoa(os.Getuid()))
	if err != nil {
		return "", fmt.Errorf("register the workload: %w", err)
	}
	return joinToken, nil
}

// serverConfig is a single server with an in-memory key and a sqlite
// datastore, attesting agents by join token.
func (s *SPIRE) serverConfig(port int) string {
	return fmt.Sprintf(`server {
  bind_address = "127.0.0.1"
  bind_port = "%d"
  socket_path = %q
  trust_domain = %q
  data_dir = %q
  jwt_issuer = %q
  log_level = "INFO"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = %q
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
}
`, port, s.serverSocket, SPIRETrustDomain, filepath.Join(s.Dir, "server", "data"), SPIREIssuer,
		filepath.Join(s.Dir, "server", "data", "datastore.sqlite3"))
}

// agentConfig trusts the server on first contact (insecure_bootstrap: the
// test has no out-of-band bundle) and attests workloads by unix uid.
func (s *SPIRE) agentConfig(port int) string {
	return fmt.Sprintf(`agent {
  server_address = "127.0.0.1"
  server_port = "%d"
  socket_path = %q
  trust_domain = %q
  data_dir = %q
  insecure_bootstrap = true
  log_level = "INFO"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
`, port, strings.TrimPrefix(s.SocketAddr, "unix://"), SPIRETrustDomain, filepath.Join(s.Dir, "agent", "data"))
}

// retry calls f every 250ms until it succeeds, a process exits, or
// spireReadyTimeout passes.
func (s *SPIRE) retry(f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), spireReadyTimeout)
	defer cancel()
	for {
		for _, p := range s.procs {
			if p.exited() {
				return fmt.Errorf("%s exited (%v); log tail:\n%s", p.name, p.err, tail(p.log))
			}
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := f(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w; log tail:\n%s", spireReadyTimeout, err, s.Logs())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// serverCommand runs a spire-server CLI command against the server's API
// socket and returns its standard output.
func (s *SPIRE) serverCommand(ctx context.Context, args ...string) (string, error) {
	args = append(args, "-socketPath", s.serverSocket)
	cmd := exec.CommandContext(ctx, s.serverBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("spire-server %s: %w: %s", strings.Join(args[:2], " "), err,
			strings.TrimSpace(stderr.String()+stdout.String()))
	}
	return stdout.String(), nil
}

// FetchJWTSVID fetches a JWT-SVID for audience from the agent, as a
// workload of the current uid.
func (s *SPIRE) FetchJWTSVID(ctx context.Context, audience string) (*jwtsvid.SVID, error) {
	return workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience}, workloadapi.WithAddr(s.SocketAddr))
}

// JWTBundle returns the trust domain's JWT signing keys as the server
// publishes them (spire-server bundle show -format spiffe), for checking
// JWT-SVIDs with jwtsvid.ParseAndValidate.
func (s *SPIRE) JWTBundle(ctx context.Context) (*jwtbundle.Bundle, error) {
	out, err := s.serverCommand(ctx, "bundle", "show", "-format", "spiffe")
	if err != nil {
		return nil, err
	}
	b, err := spiffebundle.Parse(spiffeid.RequireTrustDomainFromString(SPIRETrustDomain), []byte(out))
	if err != nil {
		return nil, fmt.Errorf("parse the bundle: %w", err)
	}
	if len(b.JWTAuthorities()) == 0 {
		return nil, errors.New("the bundle holds no JWT authority")
	}
	return b.JWTBundle(), nil
}

// Logs returns the last lines of the server and agent logs.
func (s *SPIRE) Logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "--- %s\n%s\n", p.name, tail(p.log))
	}
	return b.String()
}

// Stop kills the agent and the server and removes Dir. It is safe to call
// more than once.
func (s *SPIRE) Stop() {
	s.stopOnce.Do(func() {
		for i := len(s.procs) - 1; i >= 0; i-- {
			s.procs[i].kill()
		}
		if s.Dir != "" {
			_ = os.RemoveAll(s.Dir)
		}
	})
}
