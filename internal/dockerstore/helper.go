package dockerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	helpercreds "github.com/docker/docker-credential-helpers/credentials"

	"github.com/fluxcd/flux-mirror/internal/credential"
)

// HelperPrefix is what docker puts before a helper's name to find its
// program.
const HelperPrefix = "docker-credential-"

// helperWaitDelay bounds how long a killed helper's children (gpg-agent
// started by pass, say) may keep its output open.
const helperWaitDelay = 2 * time.Second

// storeInHelper hands a pair to docker-credential-<helper> with docker's
// helper protocol (the docker-credential-helpers client), under ctx. The
// error carries what the helper printed, with the secret removed should a
// helper ever echo it.
func storeInHelper(ctx context.Context, helper, serverURL string, c credential.Credential) error {
	program := HelperPrefix + helper
	path, err := exec.LookPath(program)
	if err != nil {
		return fmt.Errorf("credential helper %s is not installed or not on PATH: install it, remove it from the Docker config, or pass --plaintext", program)
	}
	err = client.Store(programFunc(ctx, path), &helpercreds.Credentials{
		ServerURL: serverURL,
		Username:  c.Username,
		Secret:    c.Password,
	})
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("credential helper %s did not finish: %w", program, ctxErr)
	}
	msg := err.Error()
	if c.Password != "" {
		msg = strings.ReplaceAll(msg, c.Password, "<redacted>")
	}
	return fmt.Errorf("credential helper %s: %s", program, msg)
}

// programFunc runs the helper at path under ctx; it stands in for the
// client package's own, which takes no context.
func programFunc(ctx context.Context, path string) client.ProgramFunc {
	return func(args ...string) client.Program {
		return &helperProgram{ctx: ctx, path: path, args: args}
	}
}

// helperProgram is one run of a credential helper.
type helperProgram struct {
	ctx   context.Context
	path  string
	args  []string
	stdin io.Reader
}

// Input sets what the helper reads on stdin.
func (p *helperProgram) Input(in io.Reader) { p.stdin = in }

// Output runs the helper and returns its stdout, where the helper protocol
// puts both answers and error messages. Its stderr is added to the error.
func (p *helperProgram) Output() ([]byte, error) {
	cmd := exec.CommandContext(p.ctx, p.path, p.args...)
	cmd.Stdin = p.stdin
	cmd.WaitDelay = helperWaitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			err = errors.Join(err, errors.New(s))
		}
	}
	return out, err
}
