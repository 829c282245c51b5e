package cli

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestEnvelopeAsPassword: registries whose token service accepts only the
// base64 (or the hex) of the minted token as the password. With the
// envelope, sync pushes there and the Docker config login writes lets crane
// pull; without it, the same token is refused.
func TestEnvelopeAsPassword(t *testing.T) {
	isolate(t, false)
	const raw = "envelope-raw-token-5c1d"
	noteSecret(raw, "the raw token")
	t.Setenv("ENVELOPE_TOKEN", raw)
	src := testenv.StartSyncRegistry(t)
	pushed := testenv.PushImage(t, src.Host, "app", "v1", image(t, 7))
	for _, tc := range []struct{ envelope, want string }{
		{"{{.Token | base64}}", base64.StdEncoding.EncodeToString([]byte(raw))},
		{"{{hex .Token}}", hex.EncodeToString([]byte(raw))},
	} {
		t.Run(tc.envelope, func(t *testing.T) {
			noteSecret(tc.want, "the enveloped token")
			reg := testenv.StartLoginRegistry(t, func(user, password string) error {
				if user == "robot" && password == tc.want {
					return nil
				}
				return errors.New("not the enveloped token")
			})
			cfg := func(envelope string) string {
				return writeFile(t, t.TempDir(), "mirror.yaml", fmt.Sprintf(`%shosts:
- host: %s
  credential:
    type: jwt
    username: robot
    value: ${ENVELOPE_TOKEN}
%sartifacts:
- source: %s/app
  destination: %s/app
  selector: {sortBy: alphabetical, limit: 1}
`, headerV2, reg.Host, envelope, src.Host, reg.Host))
			}
			if r := run(t, nil, "sync", cfg(""), "--retries", "0"); r.code != 1 || !strings.Contains(r.stdout, "401") {
				t.Fatalf("without envelope: exit %d, want the registry to refuse the raw token:\n%s", r.code, r.stdout)
			}
			with := cfg("    envelope: '" + tc.envelope + "'\n")
			if r := run(t, nil, "sync", with); r.code != 0 || !strings.Contains(r.stdout, "(copied)") {
				t.Fatalf("sync with envelope: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			docker := filepath.Join(t.TempDir(), "docker")
			login(t, "-f", with, "--docker-config", docker)
			pullWith(t, docker, nil, reg.Host+"/app:v1", pushed.Digest.String(), "crane")
		})
	}
}

// TestEnvelopeAsBearerToken: the token, framed by the envelope, becomes the
// registry token a distribution v3 registry accepts: the config holds all
// but the token's first segment, which the envelope template adds. crane
// pulls with the registrytoken login writes, and sync reads the registry.
func TestEnvelopeAsBearerToken(t *testing.T) {
	isolate(t, false)
	dir := t.TempDir()
	reg, key, ref, digest := tokenRegistry(t, dir)
	full := signAccess(t, key, "demo/hello", "pull")
	head, rest, _ := strings.Cut(full, ".")
	noteSecret(rest, "the token without its header")
	t.Setenv("ENVELOPE_BEARER", rest)
	cfg := writeFile(t, dir, "mirror.yaml", fmt.Sprintf(`%shosts:
- host: %s
  credential:
    type: jwt
    value: ${ENVELOPE_BEARER}
    envelope: '%s.{{.Token}}'
`, headerV2, reg.Host, head))
	docker := filepath.Join(t.TempDir(), "docker")
	login(t, "-f", cfg, "--docker-config", docker)
	pullWith(t, docker, nil, ref, digest, "crane")

	dst := testenv.StartSyncRegistry(t)
	appendFile(t, cfg, fmt.Sprintf("artifacts:\n- source: %s/demo/hello\n  destination: %s/hello\n  selector: {sortBy: alphabetical, limit: 1}\n", reg.Host, dst.Host))
	if r := run(t, nil, "sync", cfg); r.code != 0 || !strings.Contains(r.stdout, "(copied)") {
		t.Fatalf("sync reading with the enveloped bearer token: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
