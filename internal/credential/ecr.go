package credential

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/smithy-go"

	"github.com/fluxcd/flux-mirror/internal/cloudhost"
)

// fromECR mints the username and password of an Amazon ECR registry, private
// or public, from the ambient AWS identity: the SDK's default credential
// chain (IRSA web identity, EKS Pod Identity, environment keys, profile,
// instance role) signs an ecr:GetAuthorizationToken call in the registry's
// region. The SDK's endpoint settings (AWS_ENDPOINT_URL_ECR, _ECR_PUBLIC,
// _STS, AWS_ENDPOINT_URL) apply.
func fromECR(ctx context.Context, req registryRequest) (Credential, error) {
	reg, ok := cloudhost.ParseECR(req.host)
	if !ok {
		return Credential{}, cloudhost.Check(cloudhost.ECR, req.host)
	}
	cfg, err := loadAWSConfig(ctx, req.http, config.WithRegion(reg.Region))
	if err != nil {
		return Credential{}, err
	}
	if _, err := awsCredentials(ctx, cfg); err != nil {
		return Credential{}, err
	}
	var encoded string
	var expiresAt time.Time
	if reg.Public {
		encoded, expiresAt, err = ecrPublicToken(ctx, cfg)
	} else {
		encoded, expiresAt, err = ecrPrivateToken(ctx, cfg, reg.FIPS)
	}
	if err != nil {
		return Credential{}, err
	}
	user, pass, err := decodeECRToken(encoded)
	if err != nil {
		return Credential{}, err
	}
	return Credential{Username: user, Password: pass, ExpiresAt: expiresAt}, nil
}

// ecrPrivateToken calls ecr:GetAuthorizationToken; a FIPS registry host
// asks for the FIPS endpoint of the API too.
func ecrPrivateToken(ctx context.Context, cfg aws.Config, fips bool) (string, time.Time, error) {
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		if fips {
			o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
		}
	})
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", time.Time{}, ecrError("ecr:GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", time.Time{}, errors.New("ecr:GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData[0]
	return aws.ToString(d.AuthorizationToken), aws.ToTime(d.ExpiresAt), nil
}

// ecrPublicToken calls ecr-public:GetAuthorizationToken, which lives in
// us-east-1 whatever the caller's region.
func ecrPublicToken(ctx context.Context, cfg aws.Config) (string, time.Time, error) {
	out, err := ecrpublic.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
	if err != nil {
		return "", time.Time{}, ecrError("ecr-public:GetAuthorizationToken (and sts:GetServiceBearerToken)", err)
	}
	if out.AuthorizationData == nil {
		return "", time.Time{}, errors.New("ecr-public:GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData
	return aws.ToString(d.AuthorizationToken), aws.ToTime(d.ExpiresAt), nil
}

// ecrError wraps a failed authorization call, naming the IAM permission
// when AWS refused it.
func ecrError(action string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && strings.Contains(api.ErrorCode(), "AccessDenied") {
		return fmt.Errorf("get ECR authorization token: the AWS identity needs %s: %w", action, err)
	}
	return fmt.Errorf("get ECR authorization token: %w", err)
}

// decodeECRToken splits the base64 "user:password" that ECR hands out.
func decodeECRToken(encoded string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", fmt.Errorf("ECR authorization token is not valid base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return "", "", errors.New(`ECR authorization token is not of the form "user:password"`)
	}
	return user, pass, nil
}
