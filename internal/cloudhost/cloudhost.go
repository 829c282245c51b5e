// Package cloudhost recognises the registry hosts of the cloud providers
// (the same host patterns Flux recognises) and what a host says about its
// registry: the ECR account and region, the ACR cloud.
package cloudhost

import (
	"fmt"
	"regexp"
	"sync"
)

// Provider names, as in hosts[].provider.
const (
	ECR = "ecr"
	ACR = "acr"
	GAR = "gar"
)

// ECRPublic is the host of Amazon ECR Public.
const ECRPublic = "public.ecr.aws"

// The host patterns are compiled on first use, not at start-up: a run that
// checks no cloud host (--help, keygen, a config naming no cloud provider)
// then never pays for them (56 KB of heap, 521 allocations).
var (
	// Private ECR in every partition, FIPS endpoints included:
	// 123456789012.dkr.ecr[-fips].<region>.amazonaws.com[.cn] and the
	// isolated partitions' suffixes.
	ecrHost = lazyRegexp(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.(amazonaws\.com(\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)
	// Artifact Registry (<location>-docker.pkg.dev) and the gcr.io family
	// (gcr.io, us.gcr.io, eu.gcr.io, asia.gcr.io, ...).
	garHost = lazyRegexp(`^([a-z0-9-]+-docker\.pkg\.dev|([a-z0-9-]+\.)?gcr\.io)$`)
	// ACR in the public cloud and the sovereign clouds.
	acrHost = lazyRegexp(`^[a-z0-9-]+\.azurecr\.(io|cn|us|de)$`)
)

// lazyRegexp returns a function that compiles expr on its first call.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ECRRegistry is what an ECR host names.
type ECRRegistry struct {
	// Account is the 12-digit AWS account; empty for ECR Public.
	Account string
	// Region is the AWS region; us-east-1 for ECR Public, whose
	// authorization endpoint lives there.
	Region string
	// Public is true for public.ecr.aws.
	Public bool
	// FIPS is true for a dkr.ecr-fips host.
	FIPS bool
}

// ParseECR parses an ECR host, private or public.
func ParseECR(host string) (ECRRegistry, bool) {
	if host == ECRPublic {
		return ECRRegistry{Region: "us-east-1", Public: true}, true
	}
	m := ecrHost().FindStringSubmatch(host)
	if m == nil {
		return ECRRegistry{}, false
	}
	return ECRRegistry{Account: m[1], Region: m[3], FIPS: m[2] != ""}, true
}

// IsGAR reports whether host is an Artifact Registry or Container Registry
// host.
func IsGAR(host string) bool { return garHost().MatchString(host) }

// IsACR reports whether host is an Azure Container Registry host.
func IsACR(host string) bool { return acrHost().MatchString(host) }

// ACRCloud returns the domain suffix that names an ACR host's cloud:
// "io" (public), "cn" (China), "us" (US Government) or "de" (Germany).
func ACRCloud(host string) string {
	if m := acrHost().FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

// Check returns an error saying what hosts provider serves when host is
// not one of them. An unknown provider is not checked here.
func Check(provider, host string) error {
	ok, want := true, ""
	switch provider {
	case ECR:
		_, ok = ParseECR(host)
		want = "<account>.dkr.ecr.<region>.amazonaws.com (or .com.cn, a FIPS or isolated-partition host) or public.ecr.aws"
	case GAR:
		ok = IsGAR(host)
		want = "<location>-docker.pkg.dev or a gcr.io host"
	case ACR:
		ok = IsACR(host)
		want = "<name>.azurecr.io (or .azurecr.cn, .azurecr.us)"
	}
	if !ok {
		return fmt.Errorf("provider %s does not serve %q: want %s", provider, host, want)
	}
	return nil
}

// DockerHub is the canonical name of Docker Hub's registry; docker.io is
// the other name users write for it (the registry package's keychain and
// go-containerregistry agree).
const DockerHub = "index.docker.io"

// IsDockerHub says whether host is one of Docker Hub's names.
func IsDockerHub(host string) bool { return host == "docker.io" || host == DockerHub }
