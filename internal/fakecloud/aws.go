package fakecloud

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// AWS is a loopback fake of the AWS endpoints the ecr and aws providers
// reach through the SDK: STS (AssumeRoleWithWebIdentity, GetCallerIdentity),
// ECR and ECR Public (GetAuthorizationToken), and the EKS Pod Identity
// container credentials endpoint. Point the SDK at it with
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC or
// AWS_ENDPOINT_URL set to URL, and AWS_CONTAINER_CREDENTIALS_FULL_URI set to
// PodIdentityURL.
//
// Every signed call is checked against the credentials the fake issued: the
// SigV4 signature is computed again from the secret key, and a call signed
// with an unknown, expired or wrong key is refused as AWS would.
type AWS struct {
	// URL is the base URL of every API (http://127.0.0.1:PORT).
	URL string
	// PodIdentityURL is the EKS Pod Identity credentials endpoint.
	PodIdentityURL string
	// PodIdentityToken is the token the Pod Identity endpoint wants in the
	// Authorization header (what AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	// holds).
	PodIdentityToken string
	// Account is the AWS account of every identity.
	Account string
	// CACert is the PEM certificate that signs the HTTPS fake's
	// certificate; nil on plain HTTP.
	CACert []byte

	mu           sync.Mutex
	keys         map[string]awsKey
	secrets      []string
	ecrPasswords []string
	calls        []AWSCall
	deny         map[string]bool
}

// awsKey is an issued access key and who it belongs to.
type awsKey struct {
	creds aws.Credentials
	arn   string
}

// AWSCall is one API call the fake answered or refused.
type AWSCall struct {
	// Action is the STS action, the X-Amz-Target of a JSON API, or
	// "PodIdentity".
	Action string
	// Sig is the verified signature; zero for unsigned calls.
	Sig SigV4
	// WebIdentityToken is what AssumeRoleWithWebIdentity received.
	WebIdentityToken string
	// RoleARN is what AssumeRoleWithWebIdentity was asked for.
	RoleARN string
	// Audience is the X-Audience header of GetCallerIdentity.
	Audience string
	// Err is why the call was refused; empty when it succeeded.
	Err string
}

// The X-Amz-Target values of the JSON APIs.
const (
	// ECRTarget is ecr:GetAuthorizationToken.
	ECRTarget = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
	// ECRPublicTarget is ecr-public:GetAuthorizationToken.
	ECRPublicTarget = "SpencerFrontendService.GetAuthorizationToken"
)

// ECRTokenLifetime is how long the ECR authorization tokens are valid, as
// with the real service.
const ECRTokenLifetime = 12 * time.Hour

// NewAWS starts the fake on plain HTTP; it stops when the test ends.
func NewAWS(t testing.TB) *AWS {
	t.Helper()
	return newAWS(t, false)
}

// NewAWSTLS starts the fake on HTTPS with a certificate of its own test CA,
// whose PEM is in CACert; it stops when the test ends.
func NewAWSTLS(t testing.TB) *AWS {
	t.Helper()
	return newAWS(t, true)
}

func newAWS(t testing.TB, tls bool) *AWS {
	f := &AWS{Account: "123456789012", keys: map[string]awsKey{}, deny: map[string]bool{}}
	f.PodIdentityToken = f.secret("pod-identity-token")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Refused handshakes are what some tests want; keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.PodIdentityURL = srv.URL + "/v1/credentials"
	if srv.Certificate() != nil {
		f.CACert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	}
	return f
}

// StaticKey issues a long-term access key (no session token) for an IAM
// user, as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY would hold.
func (f *AWS) StaticKey() (id, secret string) {
	k := f.issue("AKIA", "user/ci", time.Time{})
	return k.creds.AccessKeyID, k.creds.SecretAccessKey
}

// Deny makes the fake refuse the action (an STS action or an X-Amz-Target)
// with AccessDenied.
func (f *AWS) Deny(action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[action] = true
}

// Calls returns the calls so far.
func (f *AWS) Calls() []AWSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Secrets returns every secret value the fake made: secret keys, session
// tokens, ECR passwords and tokens, the Pod Identity token, and the web
// identity tokens it received. Tests check none of them is ever printed.
func (f *AWS) Secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.secrets)
}

// ECRPasswords returns the passwords of the ECR and ECR Public
// authorization tokens issued so far, oldest first.
func (f *AWS) ECRPasswords() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ecrPasswords)
}

// secret makes a random value with a recognisable prefix and remembers it.
func (f *AWS) secret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	s := prefix + "-" + base64.RawURLEncoding.EncodeToString(b)
	f.mu.Lock()
	f.secrets = append(f.secrets, s)
	f.mu.Unlock()
	return s
}

// issue makes an access key for principal; expires zero means long-term.
func (f *AWS) issue(idPrefix, principal string, expires time.Time) awsKey {
	b := make([]byte, 8)
	rand.Read(b)
	c := aws.Credentials{
		AccessKeyID:     fmt.Sprintf("%s%X", idPrefix, b),
		SecretAccessKey: f.secret("secret-key"),
	}
	arn := fmt.Sprintf("arn:aws:iam::%s:%s", f.Account, principal)
	if !expires.IsZero() {
		c.SessionToken = f.secret("session-token")
		c.CanExpire, c.Expires = true, expires
		arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s", f.Account, principal)
	}
	k := awsKey{creds: c, arn: arn}
	f.mu.Lock()
	f.keys[c.AccessKeyID] = k
	f.mu.Unlock()
	return k
}

func (f *AWS) lookup(id string) (aws.Credentials, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	return k.creds, ok
}

func (f *AWS) record(c AWSCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *AWS) denied(action string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deny[action]
}

// serve routes by the wire protocol: GET is the Pod Identity endpoint, a
// POST with X-Amz-Target is a JSON 1.1 API, any other POST is STS's query
// protocol.
func (f *AWS) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/credentials":
		f.podIdentity(w, r)
	case r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") != "":
		f.jsonAPI(w, r, body)
	case r.Method == http.MethodPost:
		f.sts(w, r, body)
	default:
		http.Error(w, "fakecloud: no such AWS endpoint", http.StatusNotFound)
	}
}

// podIdentity answers like the EKS Pod Identity agent.
func (f *AWS) podIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != f.PodIdentityToken {
		f.record(AWSCall{Action: "PodIdentity", Err: "bad authorization token"})
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"code": "AccessDeniedException", "message": "invalid authorization token"})
		return
	}
	c := f.issue("ASIA", "pod-identity-role/eks-pod", time.Now().Add(time.Hour)).creds
	f.record(AWSCall{Action: "PodIdentity"})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"AccessKeyId":     c.AccessKeyID,
		"SecretAccessKey": c.SecretAccessKey,
		"Token":           c.SessionToken,
		"AccountId":       f.Account,
		"Expiration":      c.Expires.UTC().Format(time.RFC3339),
	})
}

// sts answers AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity
// (signed, X-Audience among the signed headers).
func (f *AWS) sts(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		stsError(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	call := AWSCall{Action: form.Get("Action")}
	fail := func(status int, code, msg string) {
		call.Err = code + ": " + msg
		f.record(call)
		stsError(w, status, code, msg)
	}
	switch call.Action {
	case "AssumeRoleWithWebIdentity":
		call.WebIdentityToken, call.RoleARN = form.Get("WebIdentityToken"), form.Get("RoleArn")
		f.mu.Lock()
		f.secrets = append(f.secrets, call.WebIdentityToken)
		f.mu.Unlock()
		if call.WebIdentityToken == "" || call.RoleARN == "" {
			fail(http.StatusBadRequest, "ValidationError", "WebIdentityToken and RoleArn are required")
			return
		}
		if f.denied(call.Action) {
			fail(http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
			return
		}
		k := f.issue("ASIA", "irsa-role/"+form.Get("RoleSessionName"), time.Now().Add(time.Hour))
		f.record(call)
		writeXML(w, assumeRoleResponse(k.creds, k.arn))
	case "GetCallerIdentity":
		call.Audience = r.Header.Get("X-Audience")
		call.Sig, err = verifySigV4(r, body, "sts", f.lookup)
		if err != nil {
			fail(http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
			return
		}
		if !slices.Contains(call.Sig.SignedHeaders, "x-audience") {
			fail(http.StatusForbidden, "SignatureDoesNotMatch", "X-Audience is not signed")
			return
		}
		f.mu.Lock()
		arn := f.keys[call.Sig.AccessKeyID].arn
		f.mu.Unlock()
		f.record(call)
		writeXML(w, callerIdentityResponse(arn, f.Account, call.Sig.AccessKeyID))
	default:
		fail(http.StatusBadRequest, "InvalidAction", fmt.Sprintf("fakecloud does not implement %q", call.Action))
	}
}

// jsonAPI answers GetAuthorizationToken of ECR and ECR Public.
func (f *AWS) jsonAPI(w http.ResponseWriter, r *http.Request, body []byte) {
	target := r.Header.Get("X-Amz-Target")
	call := AWSCall{Action: target}
	service := map[string]string{ECRTarget: "ecr", ECRPublicTarget: "ecr-public"}[target]
	fail := func(code, msg string) {
		call.Err = code + ": " + msg
		f.record(call)
		jsonError(w, code, msg)
	}
	if service == "" {
		fail("UnknownOperationException", "fakecloud does not implement "+target)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		fail("SerializationException", "Content-Type "+ct)
		return
	}
	var err error
	if call.Sig, err = verifySigV4(r, body, service, f.lookup); err != nil {
		code := "InvalidSignatureException"
		if err == errUnknownKey {
			code = "UnrecognizedClientException"
		}
		fail(code, err.Error())
		return
	}
	if f.denied(target) {
		fail("AccessDeniedException", "User is not authorized to perform: "+service+":GetAuthorizationToken")
		return
	}
	password := f.secret("ecr-password")
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
	f.mu.Lock()
	f.secrets = append(f.secrets, token)
	f.ecrPasswords = append(f.ecrPasswords, password)
	f.mu.Unlock()
	data := map[string]any{
		"authorizationToken": token,
		"expiresAt":          time.Now().Add(ECRTokenLifetime).Unix(),
	}
	var reply any = map[string]any{"authorizationData": data}
	if service == "ecr" {
		data["proxyEndpoint"] = fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", f.Account, call.Sig.Region)
		reply = map[string]any{"authorizationData": []any{data}}
	}
	f.record(call)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(reply)
}

func jsonError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func stsError(w http.ResponseWriter, status int, code, msg string) {
	type errorBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name  `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     errorBody `xml:"Error"`
		RequestID string    `xml:"RequestId"`
	}{Error: errorBody{"Sender", code, msg}, RequestID: "fakecloud"})
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "text/xml")
	xml.NewEncoder(w).Encode(v)
}
