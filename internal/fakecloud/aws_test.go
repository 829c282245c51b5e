package fakecloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedECRCall signs an ECR GetAuthorizationToken call with key, then lets
// tamper change it before it is sent.
func signedECRCall(t *testing.T, f *AWS, key aws.Credentials, service string, tamper func(*http.Request)) (int, string) {
	t.Helper()
	body := "{}"
	r, err := http.NewRequest(http.MethodPost, f.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Target", ECRTarget)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), key, r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAWSVerifiesSignatures(t *testing.T) {
	f := NewAWS(t)
	id, secret := f.StaticKey()
	key := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if status, body := signedECRCall(t, f, key, "ecr", nil); status != http.StatusOK || !strings.Contains(body, "authorizationToken") {
		t.Fatalf("a well signed call: %d %s", status, body)
	}
	for name, c := range map[string]struct {
		key     aws.Credentials
		service string
		tamper  func(*http.Request)
		want    string
	}{
		"wrong secret":   {aws.Credentials{AccessKeyID: id, SecretAccessKey: secret + "x"}, "ecr", nil, "InvalidSignatureException"},
		"unknown key":    {aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: secret}, "ecr", nil, "UnrecognizedClientException"},
		"wrong service":  {key, "ecr-public", nil, "InvalidSignatureException"},
		"body changed":   {key, "ecr", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("[]")) }, "InvalidSignatureException"},
		"header changed": {key, "ecr", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20200101T000000Z") }, "InvalidSignatureException"},
		"stray token":    {key, "ecr", func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "x") }, "InvalidSignatureException"},
		"no signature":   {key, "ecr", func(r *http.Request) { r.Header.Del("Authorization") }, "InvalidSignatureException"},
		"signature moved": {key, "ecr", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
		}, "InvalidSignatureException"},
	} {
		if status, body := signedECRCall(t, f, c.key, c.service, c.tamper); status == http.StatusOK || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %s", name, status, body, c.want)
		}
	}
	if n := len(f.ECRPasswords()); n != 1 {
		t.Errorf("%d tokens issued, want 1", n)
	}
}

func TestAWSPodIdentityWantsItsToken(t *testing.T) {
	f := NewAWS(t)
	for token, want := range map[string]int{f.PodIdentityToken: http.StatusOK, "": http.StatusUnauthorized, "other": http.StatusUnauthorized} {
		r, _ := http.NewRequest(http.MethodGet, f.PodIdentityURL, nil)
		r.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}

func TestDead(t *testing.T) {
	c, err := net.Dial("tcp", Dead(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v; want no answer until the deadline", n, err)
	}
}
