package credential

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The signed sts:GetCallerIdentity envelope of credential.provider aws.
const (
	// envelopeType is the typ of the envelope's header.
	envelopeType = "aws-sigv4-getcalleridentity"
	// envelopeLifetime is how long after minting the envelope claims to be
	// good for; the signature itself is accepted by STS for 15 minutes.
	envelopeLifetime = 5 * time.Minute
	// callerIdentityBody is the form body of the signed request.
	callerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"
	// audienceHeader carries the audience, signed, so that the envelope
	// cannot be replayed to a registry it was not minted for.
	audienceHeader = "X-Audience"
)

// envelopeHeader is the JOSE-style header of the envelope.
type envelopeHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

// envelopePayload is what the registry reads: the audience, the expiry and
// the request to replay to STS.
type envelopePayload struct {
	// Aud is the audience, or the audiences as an array when there are
	// several (as a JWT's aud claim).
	Aud any        `json:"aud"`
	Exp int64      `json:"exp"`
	STS stsRequest `json:"sts"`
}

// stsRequest is a signed HTTP request, ready to be sent again as it is.
type stsRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Headers maps each canonical header name to its one value: every
	// signed header (Host and Content-Length included) and Authorization.
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// fromAWS yields the envelope: an sts:GetCallerIdentity POST signed with
// SigV4 by the ambient AWS credentials, with the audience in a signed
// X-Audience header, wrapped as base64url(header).base64url(payload). with
// an empty signature. A registry replays the request to STS; STS answers
// with the caller's ARN only if the signature holds, and the signature
// holds only for the audience it was made for.
func fromAWS(ctx context.Context, req tokenRequest) (token, error) {
	cfg, err := loadAWSConfig(ctx, req.http)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider aws: %w", err)
	}
	if cfg.Region == "" {
		return token{}, errors.New("credential.provider aws: no AWS region configured: set AWS_REGION (or region in the AWS profile) to the region whose STS endpoint the registry should call")
	}
	creds, err := awsCredentials(ctx, cfg)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider aws: %w", err)
	}
	endpoint, err := stsEndpoint(ctx, cfg)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider aws: %w", err)
	}
	now := time.Now()
	expiresAt := now.Add(envelopeLifetime)
	if creds.CanExpire && creds.Expires.Before(expiresAt) {
		// STS refuses the signature once the session behind it ends.
		expiresAt = creds.Expires
	}
	signed, err := signCallerIdentity(ctx, creds, endpoint, cfg.Region, req.audiences, now)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider aws: %w", err)
	}
	value, err := encodeEnvelope(envelopePayload{Aud: audClaim(req.audiences), Exp: expiresAt.Unix(), STS: signed})
	if err != nil {
		return token{}, fmt.Errorf("credential.provider aws: %w", err)
	}
	return token{value: value, expiresAt: expiresAt}, nil
}

// stsEndpoint is the URL the SDK would send STS calls of cfg's region to:
// https://sts.<region>.amazonaws.com/ (or the partition's domain), unless
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile override it, in
// which case the registry must replay to that same endpoint.
func stsEndpoint(ctx context.Context, cfg aws.Config) (string, error) {
	o := sts.NewFromConfig(cfg).Options()
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, sts.EndpointParameters{
		Region:       aws.String(cfg.Region),
		UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
		Endpoint:     o.BaseEndpoint,
	})
	if err != nil {
		return "", fmt.Errorf("resolve the STS endpoint of region %q: %w", cfg.Region, err)
	}
	u := ep.URI
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// signCallerIdentity builds the GetCallerIdentity POST to endpoint and signs
// it for region with SigV4, X-Audience among the signed headers.
func signCallerIdentity(ctx context.Context, creds aws.Credentials, endpoint, region string, audiences []string, now time.Time) (stsRequest, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(callerIdentityBody))
	if err != nil {
		return stsRequest{}, fmt.Errorf("build the STS request: %w", err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	// One signed header per audience: the registry checks that its own
	// audience is among them.
	for _, a := range audiences {
		r.Header.Add(audienceHeader, a)
	}
	sum := sha256.Sum256([]byte(callerIdentityBody))
	if err := v4.NewSigner().SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), "sts", region, now); err != nil {
		return stsRequest{}, fmt.Errorf("sign the STS request: %w", err)
	}
	headers := make(map[string]string, len(r.Header)+2)
	for name, values := range r.Header {
		headers[name] = strings.Join(values, ",")
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	headers["Host"] = host
	headers["Content-Length"] = strconv.Itoa(len(callerIdentityBody))
	return stsRequest{Method: r.Method, URL: endpoint, Headers: headers, Body: callerIdentityBody}, nil
}

// encodeEnvelope renders base64url(header).base64url(payload). with the
// unpadded URL alphabet of JWTs.
func encodeEnvelope(p envelopePayload) (string, error) {
	h, err := json.Marshal(envelopeHeader{Alg: "none", Typ: envelopeType})
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(b) + ".", nil
}

// audClaim is the envelope's aud: a string for one audience, an array for
// several.
func audClaim(audiences []string) any {
	if len(audiences) == 1 {
		return audiences[0]
	}
	return audiences
}
