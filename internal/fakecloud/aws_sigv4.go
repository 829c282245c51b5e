package fakecloud

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 is what a verified SigV4 signature said about a request.
type SigV4 struct {
	// AccessKeyID is the key the request was signed with.
	AccessKeyID string
	// Region and Service are the credential scope's.
	Region, Service string
	// SignedHeaders are the lower-case names of the signed headers.
	SignedHeaders []string
}

// sigV4Skew is how far X-Amz-Date may be from now, as AWS allows.
const sigV4Skew = 15 * time.Minute

// verifySigV4 checks the SigV4 Authorization header of r, whose body was
// already read into body, by signing the same request again with the SDK's
// signer and the secret of the key it names. service is the signing name
// the endpoint expects; lookup finds the credentials of an access key.
func verifySigV4(r *http.Request, body []byte, service string, lookup func(id string) (aws.Credentials, bool)) (SigV4, error) {
	auth := r.Header.Get("Authorization")
	sig, err := parseAuthorization(auth)
	if err != nil {
		return sig, err
	}
	if sig.Service != service {
		return sig, fmt.Errorf("credential scope names service %q, want %q", sig.Service, service)
	}
	if !slices.Contains(sig.SignedHeaders, "host") {
		return sig, fmt.Errorf("host is not signed")
	}
	creds, ok := lookup(sig.AccessKeyID)
	if !ok {
		return sig, errUnknownKey
	}
	if creds.CanExpire && time.Now().After(creds.Expires) {
		return sig, errExpiredKey
	}
	if r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return sig, fmt.Errorf("X-Amz-Security-Token does not belong to the access key")
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return sig, fmt.Errorf("X-Amz-Date: %w", err)
	}
	if d := time.Since(signedAt); d > sigV4Skew || d < -sigV4Skew {
		return sig, fmt.Errorf("X-Amz-Date %s is more than %s from now", signedAt, sigV4Skew)
	}

	again, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return sig, err
	}
	again.Host = r.Host
	again.ContentLength = 0
	for _, name := range sig.SignedHeaders {
		switch name {
		case "host":
		case "content-length":
			again.ContentLength = int64(len(body))
		default:
			again.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), sig.Service, sig.Region, signedAt); err != nil {
		return sig, err
	}
	if subtle.ConstantTimeCompare([]byte(again.Header.Get("Authorization")), []byte(auth)) != 1 {
		return sig, errBadSignature
	}
	return sig, nil
}

var (
	errUnknownKey   = fmt.Errorf("the access key is not one this fake issued")
	errExpiredKey   = fmt.Errorf("the access key has expired")
	errBadSignature = fmt.Errorf("the request signature we calculated does not match the signature you provided")
)

// parseAuthorization reads
// "AWS4-HMAC-SHA256 Credential=ID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(auth string) (SigV4, error) {
	var sig SigV4
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sig, fmt.Errorf("authorization header is missing or not AWS4-HMAC-SHA256")
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return sig, fmt.Errorf("malformed credential scope %q", v)
			}
			sig.AccessKeyID, sig.Region, sig.Service = scope[0], scope[2], scope[3]
		case "SignedHeaders":
			sig.SignedHeaders = strings.Split(v, ";")
		}
	}
	if sig.AccessKeyID == "" || len(sig.SignedHeaders) == 0 {
		return sig, fmt.Errorf("authorization header lacks Credential or SignedHeaders")
	}
	return sig, nil
}
