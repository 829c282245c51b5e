package credential

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/smithy-go/logging"
)

// errNoAWSCredentials says what to set up when the default chain finds
// nothing: none of environment keys, profile, web identity or container
// endpoint is configured, and the instance metadata service had no role.
const errNoAWSCredentials = "no AWS credentials found: on EKS annotate the ServiceAccount with eks.amazonaws.com/role-arn (IRSA) or use EKS Pod Identity; elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a credentials file"

// loadAWSConfig loads the SDK's default configuration (environment, shared
// config and credentials files, the default credential chain) with every
// network call going through hc. extra options, such as the region, come
// last and win.
func loadAWSConfig(ctx context.Context, hc *http.Client, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(sdkHTTPClient(hc)),
		// The container credentials endpoint (EKS Pod Identity, ECS) does
		// not take the config's client; hand it over explicitly.
		config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) { o.HTTPClient = hc }),
		// The SDK logs to stderr by default, which would break the one
		// line per event output.
		config.WithLogger(logging.Nop{}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, extra...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// sdkHTTPClient adapts hc for the SDK. The SDK applies a CA bundle
// (AWS_CA_BUNDLE) only to a client of its own buildable type and refuses
// any other, so with a bundle set the client is rebuilt from hc's
// transport: its proxy, TLS settings and timeouts are kept, the bundle
// then replaces the root CAs as the SDK always does, and the SDK dials
// with its own dialer. Without a bundle hc is used as it is.
func sdkHTTPClient(hc *http.Client) config.HTTPClient {
	if os.Getenv("AWS_CA_BUNDLE") == "" {
		return hc
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		// The SDK will report that it cannot add the bundle.
		return hc
	}
	return awshttp.NewBuildableClient().WithTimeout(hc.Timeout).WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = base.Proxy
		tr.ProxyConnectHeader = base.ProxyConnectHeader
		if base.TLSClientConfig != nil {
			tls := base.TLSClientConfig.Clone()
			if tls.RootCAs != nil {
				// The SDK adds the bundle to this pool: keep hc's own intact.
				tls.RootCAs = tls.RootCAs.Clone()
			}
			tr.TLSClientConfig = tls
		}
		tr.TLSHandshakeTimeout = base.TLSHandshakeTimeout
		tr.ResponseHeaderTimeout = base.ResponseHeaderTimeout
		tr.DisableKeepAlives = base.DisableKeepAlives
		tr.ForceAttemptHTTP2 = base.ForceAttemptHTTP2
	})
}

// awsCredentials retrieves the credentials of cfg's chain once, so that a
// chain that found nothing is reported as such, with what to set up,
// rather than as a failure to sign the first request. The SDK caches the
// result, so the API call that follows does not fetch them again.
func awsCredentials(ctx context.Context, cfg aws.Config) (aws.Credentials, error) {
	if cfg.Credentials == nil {
		return aws.Credentials{}, errors.New(errNoAWSCredentials)
	}
	// The chain ends with the instance role: if nothing else was
	// configured, that is what it resolved to. The SDK bounds each call
	// to the instance metadata service (5 s), so off EC2 this fails soon.
	lastResort := aws.IsCredentialsProvider(cfg.Credentials, &ec2rolecreds.Provider{})
	creds, err := cfg.Credentials.Retrieve(ctx)
	switch {
	case err == nil:
		return creds, nil
	case lastResort && ctx.Err() == nil:
		return aws.Credentials{}, fmt.Errorf("%s (the EC2 instance metadata service, the last source tried, gave none: %w)", errNoAWSCredentials, err)
	default:
		return aws.Credentials{}, fmt.Errorf("get AWS credentials: %w", err)
	}
}
