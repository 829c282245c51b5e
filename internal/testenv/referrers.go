package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cosign is the real cosign CLI with a key pair made for one test, to
// sign images offline (no Sigstore, no transparency log) and to verify
// what a mirror copied.
type Cosign struct {
	bin  string
	home string
	// Key and Pub are the paths of the private (encrypted with password)
	// and public keys.
	Key, Pub string
	env      []string
}

// cosignPassword encrypts the test key; cosign reads it from the
// environment instead of a terminal.
const cosignPassword = "flux-mirror-test-not-secret"

// NewCosign generates a key pair with `cosign generate-key-pair`. A
// missing cosign peer fails the test.
func NewCosign(t testing.TB) *Cosign {
	t.Helper()
	home := t.TempDir()
	c := &Cosign{bin: Tool(t, "cosign"), home: home,
		Key: filepath.Join(home, "cosign.key"), Pub: filepath.Join(home, "cosign.pub"),
		// No TUF root or Sigstore service is reachable, nor needed with a key.
		env: []string{"COSIGN_PASSWORD=" + cosignPassword, "TUF_ROOT=" + filepath.Join(home, ".sigstore")},
	}
	c.run(t, "generate-key-pair", "--output-key-prefix", filepath.Join(home, "cosign"))
	return c
}

// Sign signs ref (host/repo@digest on a plain-HTTP loopback registry) in
// cosign's tag-based form: the signature lands in the sha256-<hex>.sig tag
// next to the digest, not in a Sigstore bundle referrer.
func (c *Cosign) Sign(t testing.TB, ref string) {
	t.Helper()
	c.run(t, "sign", "--key", c.Key, "--tlog-upload=false", "--use-signing-config=false",
		"--new-bundle-format=false", "--allow-insecure-registry", "--allow-http-registry", "-y", ref)
}

// SignBundle signs ref (host/repo@digest) the way cosign does by default:
// a Sigstore bundle (v0.3) pushed as an OCI referrer of the digest, found
// through the referrers API or the referrers tag.
func (c *Cosign) SignBundle(t testing.TB, ref string) {
	t.Helper()
	c.run(t, "sign", "--key", c.Key, "--tlog-upload=false", "--use-signing-config=false",
		"--allow-insecure-registry", "--allow-http-registry", "-y", ref)
}

// BundleType is the artifact type of the referrer SignBundle pushes.
const BundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Attest attaches a signed SPDX attestation to ref (host/repo@digest) in
// cosign's tag-based form: the sha256-<hex>.att tag.
func (c *Cosign) Attest(t testing.TB, ref string) {
	t.Helper()
	predicate := filepath.Join(t.TempDir(), "predicate.json")
	writeTestFile(t, predicate, `{"spdxVersion":"SPDX-2.3","name":"attested"}`)
	c.run(t, "attest", "--key", c.Key, "--type", "spdxjson", "--predicate", predicate, "--tlog-upload=false",
		"--use-signing-config=false", "--new-bundle-format=false", "--allow-insecure-registry", "--allow-http-registry", "-y", ref)
}

// VerifyAttestation runs `cosign verify-attestation --key` for the SPDX
// type on ref without a transparency log and returns its output and
// error, for the test to judge.
func (c *Cosign) VerifyAttestation(t testing.TB, ref string) (string, error) {
	t.Helper()
	return RunClient(t, c.bin, c.home, c.env, "verify-attestation", "--key", c.Pub, "--type", "spdxjson",
		"--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry", ref)
}

// Verify runs `cosign verify --key` on ref without a transparency log and
// returns its output and error, for the test to judge.
func (c *Cosign) Verify(t testing.TB, ref string) (string, error) {
	t.Helper()
	return RunClient(t, c.bin, c.home, c.env, "verify", "--key", c.Pub, "--insecure-ignore-tlog=true",
		"--allow-insecure-registry", "--allow-http-registry", ref)
}

func (c *Cosign) run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := RunClient(t, c.bin, c.home, c.env, args...); err != nil {
		t.Fatalf("testenv: cosign %s: %v\n%s", args[0], err, out)
	}
}

// SBOMType is the artifact type AttachSBOM gives its referrer.
const SBOMType = "application/spdx+json"

// AttachSBOM attaches a small SPDX document to ref (host/repo@digest or
// :tag on a plain-HTTP loopback registry) with the real `oras attach`, as
// an OCI referrer of artifact type SBOMType; oras writes it through the
// referrers API or the referrers tag, whichever the registry supports. It
// returns the referrer's digest.
func AttachSBOM(t testing.TB, ref, name string) string {
	t.Helper()
	dir := t.TempDir()
	doc := `{"spdxVersion":"SPDX-2.3","name":"` + name + `"}`
	if err := os.WriteFile(filepath.Join(dir, "sbom.spdx.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// An absolute path needs the validation off (oras guards against
	// reading outside the working directory, which RunClient cannot set).
	out := runOras(t, dir, "attach", "--plain-http", "--artifact-type", SBOMType, "--disable-path-validation",
		"--format", "go-template", "--template", "{{.digest}}", ref, filepath.Join(dir, "sbom.spdx.json"))
	return strings.TrimSpace(out)
}

// Referrer is one referrer `oras discover` lists.
type Referrer struct {
	Digest       string `json:"digest"`
	ArtifactType string `json:"artifactType"`
}

// Discover lists the direct referrers of ref with the real `oras discover`
// (referrers API, else referrers tag, as oras finds them).
func Discover(t testing.TB, ref string) []Referrer {
	t.Helper()
	out := runOras(t, t.TempDir(), "discover", "--plain-http", "--format", "json", "--depth", "1", ref)
	var doc struct {
		Referrers []Referrer `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("testenv: oras discover %s: %v\n%s", ref, err, out)
	}
	return doc.Referrers
}

// runOras runs oras with home as its home and fails the test when it
// fails.
func runOras(t testing.TB, home string, args ...string) string {
	t.Helper()
	out, err := RunClient(t, Tool(t, "oras"), home, nil, args...)
	if err != nil {
		t.Fatalf("testenv: oras %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
