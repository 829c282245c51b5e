package config

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/internal/selector"
)

// sortOrders are selector.sortBy's values, as the selector package names
// them.
var sortOrders = []string{selector.SortSemver, selector.SortAlphabetical, selector.SortNumerical}

// VerifyProviderCosign is the only signature verifier, the report's
// verification.provider too.
const VerifyProviderCosign = "cosign"

// repositoryComponent is one path component of an OCI repository name, as
// the distribution reference grammar defines it.
var repositoryComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// validateArtifact checks one artifacts[] entry.
func validateArtifact(p *problems, path string, a *Artifact) {
	validateRepositoryField(p, field(path, "source"), a.Source)
	validateRepositoryField(p, field(path, "destination"), a.Destination)
	if a.Selector == nil {
		p.add(field(path, "selector"), "required")
	} else {
		validateSelector(p, field(path, "selector"), a.Selector)
	}
	if a.Verify != nil {
		validateVerify(p, field(path, "verify"), a.Verify)
	}
	validatePlatforms(p, field(path, "platforms"), a.Platforms)
}

// validatePlatforms checks each platforms item: os/arch[/variant], as
// go-containerregistry parses it and writes it back, listed once.
func validatePlatforms(p *problems, path string, platforms []string) {
	first := map[string]int{}
	for i, s := range platforms {
		at := index(path, i)
		if s == "" {
			p.add(at, "must not be empty, write os/arch or os/arch/variant (linux/arm64, linux/arm/v7)")
			continue
		}
		// ParsePlatform is lenient ("linux", "linux/", " linux/amd64"
		// all parse): a platform must also read back as written.
		pl, err := v1.ParsePlatform(s)
		if err != nil || pl.OS == "" || pl.Architecture == "" || pl.String() != s {
			p.add(at, "%q is not a platform, write os/arch or os/arch/variant (linux/arm64, linux/arm/v7)", s)
			continue
		}
		if j, dup := first[s]; dup {
			p.add(at, "%q is already listed as %s, list each platform once", s, safe(index(path, j)))
			continue
		}
		first[s] = i
	}
}

func validateRepositoryField(p *problems, path, ref string) {
	if ref == "" {
		p.add(path, "required")
		return
	}
	if err := validateRepository(ref); err != nil {
		p.add(path, "%v", err)
	}
}

// validateRepository checks an OCI repository written without scheme, tag
// or digest: [host[:port]/]path/to/repo.
func validateRepository(ref string) error {
	if strings.IndexFunc(ref, unicode.IsSpace) >= 0 {
		return valueErrorf("must not contain whitespace")
	}
	if scheme, rest, ok := strings.Cut(ref, "://"); ok {
		return valueErrorf("remove the scheme %q, write %q", scheme+"://", rest)
	}
	if name, _, ok := strings.Cut(ref, "@"); ok {
		return valueErrorf("must be a repository without a digest, write %q", name)
	}
	components := strings.Split(ref, "/")
	if first := components[0]; len(components) > 1 &&
		(strings.ContainsAny(first, ".:[") || first == "localhost") {
		if err := ValidateHost(first); err != nil {
			return valueErrorf("registry host %q: %v", first, err)
		}
		components = components[1:]
	}
	return validateRepositoryPath(components)
}

// validateRepositoryPath checks the path components of a repository name;
// a tag on the last one is refused.
func validateRepositoryPath(components []string) error {
	for i, c := range components {
		if i == len(components)-1 {
			if name, _, ok := strings.Cut(c, ":"); ok {
				return valueErrorf("must be a repository without a tag, drop %q", c[len(name):])
			}
		}
		if !repositoryComponent.MatchString(c) {
			return valueErrorf("invalid repository path component %q (lowercase letters and digits "+
				"separated by '.', '_', '__' or '-')", c)
		}
	}
	return nil
}

func validateSelector(p *problems, path string, s *Selector) {
	if s.Regex != nil {
		at := field(path, "regex")
		if s.Regex.Pattern == "" {
			p.add(field(at, "pattern"), "required")
		} else {
			validateRegexp(p, field(at, "pattern"), s.Regex.Pattern)
		}
	}
	if s.Semver != "" {
		validateSemver(p, field(path, "semver"), s.Semver)
	}
	if s.SortBy != "" && !slices.Contains(sortOrders, s.SortBy) {
		p.add(field(path, "sortBy"), "unknown order %q, expected one of %s", s.SortBy, safe(strings.Join(sortOrders, ", ")))
	}
	if s.Limit != nil && *s.Limit < 0 {
		p.add(field(path, "limit"), "must not be negative (0 keeps all)")
	}
}

func validateVerify(p *problems, path string, v *Verify) {
	switch v.Provider {
	case VerifyProviderCosign:
	case "":
		p.add(field(path, "provider"), "required, set it to %s", safe(VerifyProviderCosign))
	default:
		p.add(field(path, "provider"), "unknown provider %q, expected %s", v.Provider, safe(VerifyProviderCosign))
	}
	if len(v.MatchOIDCIdentity) == 0 && v.PublicKey == "" {
		p.add(field(path, "matchOIDCIdentity"), "at least one identity is required to verify keyless signatures "+
			"(or set publicKey to verify signatures made with a key)")
	}
	for i, id := range v.MatchOIDCIdentity {
		at := index(field(path, "matchOIDCIdentity"), i)
		validateIssuer(p, field(at, "issuer"), id.Issuer)
		if id.Subject == "" {
			p.add(field(at, "subject"), "required (a regular expression over the certificate identity)")
		} else {
			validateRegexp(p, field(at, "subject"), id.Subject)
		}
	}
	if v.MinAge != "" {
		validateDuration(p, field(path, "minAge"), v.MinAge, true)
	}
	if v.TrustedRoot != "" {
		validatePath(p, field(path, "trustedRoot"), v.TrustedRoot)
	}
	if v.PublicKey != "" {
		validatePath(p, field(path, "publicKey"), v.PublicKey)
	}
}

// validateIssuer checks an OIDC issuer, which is compared with the
// certificate's byte for byte: a regular expression written there would
// match nothing, so it is refused rather than left to fail every tag.
func validateIssuer(p *problems, path, issuer string) {
	const example = "such as https://token.actions.githubusercontent.com"
	switch u, err := url.Parse(issuer); {
	case issuer == "":
		p.add(path, "required (the OIDC issuer URL, %s)", safe(example))
	case strings.HasPrefix(issuer, "^") || strings.HasSuffix(issuer, "$") || strings.ContainsAny(issuer, `\*()[]|`):
		p.add(path, "is matched exactly, not as a regular expression: write the issuer URL as the certificate carries it (%s)", safe(example))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		p.add(path, "must be the OIDC issuer URL, matched exactly (%s)", safe(example))
	}
}

// validateChart checks one charts[] entry.
func validateChart(p *problems, path string, c *Chart) {
	switch {
	case c.Name == "":
		p.add(field(path, "name"), "required")
	case strings.ContainsAny(c.Name, "/ \t\r\n"):
		p.add(field(path, "name"), "must be a chart name without slashes or whitespace")
	}
	if c.Source == "" {
		p.add(field(path, "source"), "required")
	} else if strings.HasPrefix(c.Source, "oci://") {
		p.add(field(path, "source"), "charts entries read HTTP chart repositories; a chart in an OCI registry is an OCI artifact: mirror it with an artifacts entry whose source is the chart's repository without oci://")
	} else if u, err := url.Parse(c.Source); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(field(path, "source"), "must be an http:// or https:// URL of a chart repository")
	} else if u.User != nil {
		// The source is the entry's label in every output line and report.
		p.add(field(path, "source"), "must not hold credentials: put the username and password in Helm's repositories file ($HELM_REPOSITORY_CONFIG), as helm repo add does")
	}
	if c.Destination == "" {
		p.add(field(path, "destination"), "required")
	} else {
		validateOCIURL(p, field(path, "destination"), c.Destination)
	}
	if c.Version != "" {
		validateSemver(p, field(path, "version"), c.Version)
	}
	if c.Limit != nil && *c.Limit < 0 {
		p.add(field(path, "limit"), "must not be negative (0 keeps all)")
	}
}

// validateOCIURL checks an oci://host[:port][/path] destination.
func validateOCIURL(p *problems, path, dest string) {
	rest, ok := strings.CutPrefix(dest, "oci://")
	if !ok {
		p.add(path, "must be an oci:// URL (oci://registry.example.com/charts)")
		return
	}
	host, repo, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	if err := ValidateHost(host); err != nil {
		p.add(path, "registry host %q: %v", host, err)
		return
	}
	if repo != "" {
		if err := validateRepositoryPath(strings.Split(repo, "/")); err != nil {
			p.add(path, "%v", err)
		}
	}
}

func validateRegexp(p *problems, path, pattern string) {
	if _, err := regexp.Compile(pattern); err != nil {
		p.add(path, "not a valid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
}

func validateSemver(p *problems, path, constraint string) {
	if _, err := semver.NewConstraint(constraint); err != nil {
		p.add(path, "not a valid semver range: %v", err)
	}
}
