package credential

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// awsHost is a host whose credential is the aws envelope for aud.
func awsHost(aud string) config.Host {
	return config.Host{Host: "registry.example.com", Credential: &config.Source{Provider: "aws", Audiences: []string{aud}}}
}

// decodeEnvelope splits the envelope and checks its header and the empty
// signature.
func decodeEnvelope(t *testing.T, token string) envelopePayload {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("envelope has %d parts, want header.payload. with an empty signature", len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(h) != `{"alg":"none","typ":"aws-sigv4-getcalleridentity"}` {
		t.Fatalf("header = %s, %v", h, err)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var p envelopePayload
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return p
}

// replay sends the envelope's request the way a registry would, with aud
// in place of the signed audience, and returns STS's status and body.
func replay(t *testing.T, r stsRequest, aud string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(r.Method, r.URL, strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	req.Host = r.Headers["Host"]
	req.Header.Set("X-Audience", aud)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestAWSEnvelope mints the envelope with IRSA credentials and replays it
// to the fake STS, which checks the signature: the caller is the assumed
// role, and the same request with another audience is refused.
func TestAWSEnvelope(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	irsaEnv(t, f)
	hc := newCountingClient(nil)

	c, err := Resolve(context.Background(), ".", awsHost("https://registry.example.com"), Options{HTTPClient: hc.Client})
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "" || c.Token == "" {
		t.Fatalf("got %v, want a bearer token", c)
	}
	if hc.n.Load() != 1 {
		t.Errorf("the injected client sent %d requests, want 1 (AssumeRoleWithWebIdentity)", hc.n.Load())
	}
	p := decodeEnvelope(t, c.Token)
	if p.Aud != "https://registry.example.com" || p.Exp != c.ExpiresAt.Unix() {
		t.Errorf("aud %q exp %d, want the audience and the credential's expiry %d", p.Aud, p.Exp, c.ExpiresAt.Unix())
	}
	wantExpiry(t, c.ExpiresAt, envelopeLifetime)
	if p.STS.Method != "POST" || p.STS.URL != f.URL+"/" || p.STS.Body != "Action=GetCallerIdentity&Version=2011-06-15" {
		t.Errorf("sts = %s %s %q", p.STS.Method, p.STS.URL, p.STS.Body)
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Audience", "Content-Type", "Content-Length", "Host"} {
		if p.STS.Headers[h] == "" {
			t.Errorf("headers lack %s: %v", h, keys(p.STS.Headers))
		}
	}
	if !strings.Contains(p.STS.Headers["Authorization"], "/eu-central-1/sts/aws4_request") {
		t.Errorf("not signed for sts in eu-central-1")
	}

	status, body := replay(t, p.STS, p.Aud.(string))
	if status != http.StatusOK {
		t.Fatalf("replay: %d %s", status, body)
	}
	id, err := fakecloud.ParseCallerIdentity(body)
	if err != nil || !strings.HasPrefix(id.Arn, "arn:aws:sts::123456789012:assumed-role/irsa-role/") {
		t.Errorf("caller = %+v, %v; want the role assumed with the projected token", id, err)
	}
	calls := f.Calls()
	last := calls[len(calls)-1]
	if last.Action != "GetCallerIdentity" || last.Audience != p.Aud || !contains(last.Sig.SignedHeaders, "x-audience") {
		t.Errorf("STS saw %+v, want GetCallerIdentity with the audience signed", last)
	}

	if status, body := replay(t, p.STS, "https://evil.example.com"); status != http.StatusForbidden || !strings.Contains(string(body), "SignatureDoesNotMatch") {
		t.Errorf("replay with another audience: %d %s, want SignatureDoesNotMatch", status, body)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAWSEnvelopeDefaults: with static keys nothing goes over the network;
// the request addresses the regional STS endpoint, the audience defaults to
// the host, and with username set the envelope is the password.
func TestAWSEnvelopeDefaults(t *testing.T) {
	fakecloud.IsolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
	t.Setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
	hc := newCountingClient(nil)
	h := awsHost("")
	h.Credential.Username = "aws"

	c, err := Resolve(context.Background(), ".", h, Options{HTTPClient: hc.Client})
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "aws" || c.Token != "" {
		t.Fatalf("got %v, want a username/password pair", c)
	}
	p := decodeEnvelope(t, c.Password)
	if p.Aud != "registry.example.com" || p.STS.URL != "https://sts.ap-southeast-2.amazonaws.com/" || p.STS.Headers["Host"] != "sts.ap-southeast-2.amazonaws.com" {
		t.Errorf("aud %q url %q host %q", p.Aud, p.STS.URL, p.STS.Headers["Host"])
	}
	if _, ok := p.STS.Headers["X-Amz-Security-Token"]; ok {
		t.Error("a long-term key has no session token to send")
	}
	if hc.n.Load() != 0 {
		t.Errorf("%d requests with static keys, want none", hc.n.Load())
	}
	if strings.Contains(c.Password, "not-a-real-secret") {
		t.Error("the envelope carries the secret key")
	}
}

func TestAWSNoRegion(t *testing.T) {
	fakecloud.IsolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
	_, err := Resolve(context.Background(), ".", awsHost(""), Options{})
	if err == nil || !strings.Contains(err.Error(), "set AWS_REGION") || !strings.HasPrefix(err.Error(), `host "registry.example.com": credential.provider aws: `) {
		t.Fatalf("err = %v, want it to ask for AWS_REGION", err)
	}
}

func TestAWSNoCredentials(t *testing.T) {
	fakecloud.IsolateAWS(t)
	t.Setenv("AWS_REGION", "us-east-1")
	_, err := Resolve(context.Background(), ".", awsHost(""), Options{})
	wantNoCredentials(t, err, "registry.example.com")
}

// TestAWSDeadEndpoint: IRSA against an STS that never answers.
func TestAWSDeadEndpoint(t *testing.T) {
	fakecloud.IsolateAWS(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-mirror")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tempFile(t, "token", "projected-sa-token"))
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://"+fakecloud.Dead(t))
	wantDeadline(t, awsHost(""))
}

// TestAWSEnvelopeExpiry: the envelope expires no later than the session
// whose key signed it.
func TestAWSEnvelopeExpiry(t *testing.T) {
	fakecloud.IsolateAWS(t)
	t.Setenv("AWS_REGION", "us-east-1")
	soon := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	process := `{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "not-a-real-secret", "SessionToken": "not-a-real-token", "Expiration": "` + soon.Format(time.RFC3339) + `"}`
	script := tempFile(t, "creds.sh", "#!/bin/sh\necho '"+process+"'\n")
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", tempFile(t, "config", "[default]\ncredential_process = "+script+"\n"))
	c, err := Resolve(context.Background(), ".", awsHost(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(soon) || decodeEnvelope(t, c.Token).Exp != soon.Unix() {
		t.Errorf("expires %s, want the session's end %s", c.ExpiresAt, soon)
	}
}

// TestAWSEnvelopeAudiences: several audiences are signed as X-Audience
// headers and listed in the envelope's aud; the fake STS accepts the
// replayed request only with all of them.
func TestAWSEnvelopeAudiences(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	irsaEnv(t, f)
	h := config.Host{Host: "registry.example.com", Credential: &config.Source{Provider: "aws", Audiences: []string{"https://a.example", "https://b.example"}}}
	c, err := Resolve(context.Background(), ".", h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := decodeEnvelope(t, c.Token)
	if aud, ok := p.Aud.([]any); !ok || len(aud) != 2 || aud[0] != "https://a.example" || aud[1] != "https://b.example" {
		t.Errorf("envelope aud %#v, want both audiences", p.Aud)
	}
	if got := p.STS.Headers["X-Audience"]; got != "https://a.example,https://b.example" {
		t.Errorf("X-Audience %q, want one signed value per audience", got)
	}
	if status, body := replay(t, p.STS, "https://a.example,https://b.example"); status != http.StatusOK {
		t.Errorf("replay with both audiences: %d %s", status, body)
	}
	if status, _ := replay(t, p.STS, "https://a.example"); status != http.StatusForbidden {
		t.Errorf("replay with one audience dropped: %d, want the signature refused", status)
	}
}

// irsaEnv sets the environment of a pod with IRSA whose STS is f.
func irsaEnv(t *testing.T, f *fakecloud.AWS) {
	t.Helper()
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-mirror")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tempFile(t, "token", "projected-sa-token-91c4"))
	t.Setenv("AWS_ENDPOINT_URL_STS", f.URL)
	t.Setenv("AWS_REGION", "eu-central-1")
}
