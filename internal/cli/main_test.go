package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

var env *testenv.Env

// transcript keeps what every command run printed, and secrets the set of
// token values the tests used or that the commands minted: TestMain fails
// the package if any secret appears in any output.
var transcript struct {
	sync.Mutex
	outputs []string
	secrets map[string]string // value -> where it came from
}

// noteSecret registers a token value that must never be printed.
func noteSecret(value, origin string) {
	transcript.Lock()
	defer transcript.Unlock()
	if transcript.secrets == nil {
		transcript.secrets = map[string]string{}
	}
	transcript.secrets[value] = origin
}

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kube-apiserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	env.Stop()
	if leaks := leakedSecrets(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: token values appeared in command output:", strings.Join(leaks, "; "))
		code = 1
	}
	os.Exit(code)
}

func leakedSecrets() []string {
	transcript.Lock()
	defer transcript.Unlock()
	var leaks []string
	for secret, origin := range transcript.secrets {
		for _, out := range transcript.outputs {
			if strings.Contains(out, secret) {
				leaks = append(leaks, origin)
				break
			}
		}
	}
	if len(transcript.outputs) == 0 || len(transcript.secrets) == 0 {
		leaks = append(leaks, "the leak check saw no output or no secrets: it checked nothing")
	}
	return leaks
}

// result is what one command run printed, as main would print it.
type result struct {
	stdout, stderr string
	err            error
	code           int // the exit status main would return
}

// run executes a fresh command tree like main does: the error becomes the
// exit status and, unless the command printed its outcome, one "✗" line on
// stderr.
func run(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runWith(t, credential.Options{}, stdin, args...)
}

// runWith is run with the credential sources' options, for tests that
// inject an HTTP client (a dialer to a fake, a test CA).
func runWith(t *testing.T, opts credential.Options, stdin io.Reader, args ...string) result {
	t.Helper()
	return runSeams(t, seams{credentials: opts}, stdin, args...)
}

// runSeams is run with every seam the tests may set (credential options,
// clock).
func runSeams(t *testing.T, s seams, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(IOStreams{In: stdin, Out: &stdout, ErrOut: &stderr}, s)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	code := Exit(err, &stderr)
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, stdout.String(), stderr.String())
	transcript.Unlock()
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err, code: code}
}

// failureLines returns the "✗" lines of stderr.
func failureLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "✗") {
			out = append(out, l)
		}
	}
	return out
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := dir + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
