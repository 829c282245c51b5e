package config

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

var registryProviders = []string{
	v1beta1.RegistryProviderECR,
	v1beta1.RegistryProviderACR,
	v1beta1.RegistryProviderGAR,
}

// validateHost checks one hosts[] entry.
func validateHost(p *problems, path string, h *v1beta1.Host) {
	if h.Host == "" {
		p.add(field(path, "host"), "required")
	} else if err := ValidateHost(h.Host); err != nil {
		p.add(field(path, "host"), "%v", err)
	}
	if h.Provider != "" {
		if !slices.Contains(registryProviders, h.Provider) {
			p.add(field(path, "provider"), "unknown provider %q, expected one of %s",
				h.Provider, safe(strings.Join(registryProviders, ", ")))
		} else {
			checkCloudHost(p, path, h.Provider, h.Host)
		}
		for _, other := range []struct {
			name string
			set  bool
		}{
			{"credential", h.Credential != nil},
			{"username", h.Username != ""},
			{"tls", h.TLS != nil},
		} {
			if other.set {
				p.add(field(path, other.name), "not allowed with provider, which brings its own credentials")
			}
		}
	}
	if h.Username != "" && h.Credential == nil && h.Provider == "" {
		p.add(field(path, "username"), "only allowed with credential")
	}
	if h.Credential != nil {
		validateCredential(p, field(path, "credential"), h.Credential)
	}
	if h.TLS != nil {
		validateTLS(p, field(path, "tls"), h.TLS)
	}
	if h.MaxChunkSize != nil && *h.MaxChunkSize < 0 {
		p.add(field(path, "maxChunkSize"), "must not be negative")
	}
	if h.Credential == nil && h.Provider == "" && h.TLS == nil && h.MaxChunkSize == nil {
		p.add(path, "set at least one of credential, provider, tls, maxChunkSize")
	}
}

// ValidateHost checks the syntax of a registry host: a DNS name, an IPv4
// address or a bracketed IPv6 address, in lowercase, with an optional port
// from 1 to 65535, and nothing else (no scheme, path or whitespace). The
// message says how to fix the host where it can; it carries no field path.
func ValidateHost(host string) error {
	switch {
	case host == "":
		return valueErrorf("must not be empty")
	case strings.IndexFunc(host, unicode.IsSpace) >= 0:
		return valueErrorf("must not contain whitespace")
	}
	if scheme, rest, ok := strings.Cut(host, "://"); ok {
		bare, _, _ := strings.Cut(rest, "/")
		return valueErrorf("remove the scheme %q, write %q", scheme+"://", strings.ToLower(bare))
	}
	if name, _, ok := strings.Cut(host, "/"); ok {
		return valueErrorf("must be a host without a path, write %q", strings.ToLower(name))
	}
	if lower := strings.ToLower(host); lower != host {
		return valueErrorf("must be lowercase, write %q", lower)
	}
	name, port, err := splitHostPort(host)
	if err != nil {
		return err
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return valueErrorf("port %q must be a number from 1 to 65535", port)
		}
	}
	if strings.HasPrefix(name, "[") {
		addr, err := netip.ParseAddr(name[1 : len(name)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return valueErrorf("%q is not an IPv6 address", name)
		}
		return nil
	}
	return validateHostname(name)
}

// splitHostPort splits "name:port", where name may be a bracketed IPv6
// address.
func splitHostPort(host string) (name, port string, err error) {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", "", valueErrorf("missing ] after the IPv6 address")
		}
		name, rest := host[:end+1], host[end+1:]
		if rest == "" {
			return name, "", nil
		}
		if !strings.HasPrefix(rest, ":") || rest == ":" {
			return "", "", valueErrorf("only a :port may follow the IPv6 address")
		}
		return name, rest[1:], nil
	}
	switch strings.Count(host, ":") {
	case 0:
		return host, "", nil
	case 1:
		name, port, _ := strings.Cut(host, ":")
		if port == "" {
			return "", "", valueErrorf("empty port after the colon")
		}
		return name, port, nil
	default:
		return "", "", valueErrorf("put an IPv6 address in brackets, write %q", "["+host+"]")
	}
}

// validateHostname checks an IPv4 address or a DNS name of RFC 1123 labels.
// A name whose last label is all digits can only be an IPv4 address.
func validateHostname(name string) error {
	labels := strings.Split(name, ".")
	if last := labels[len(labels)-1]; last != "" && strings.Trim(last, "0123456789") == "" {
		if addr, err := netip.ParseAddr(name); err != nil || !addr.Is4() {
			return valueErrorf("%q is not an IPv4 address", name)
		}
		return nil
	}
	if len(name) > 253 {
		return valueErrorf("longer than 253 characters")
	}
	for _, label := range labels {
		if err := validateLabel(label); err != nil {
			return err
		}
	}
	return nil
}

// validateLabel checks one DNS label: 1 to 63 of a-z, 0-9 and "-", not
// starting or ending with "-".
func validateLabel(label string) error {
	switch {
	case label == "":
		return valueErrorf("empty DNS label (check for a leading, trailing or doubled dot)")
	case len(label) > 63:
		return valueErrorf("a DNS label is longer than 63 characters")
	case label[0] == '-' || label[len(label)-1] == '-':
		return valueErrorf("DNS label %q must not start or end with a hyphen", label)
	}
	for _, c := range label {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return valueErrorf("invalid character %q (a host has only a-z, 0-9, '-', '.' and a :port)", c)
		}
	}
	return nil
}
