// Package selector picks which tags of a repository to mirror: filter by a
// regular expression, derive a sort key, keep a semver range, order highest
// first and keep the first N. It is pure: no I/O, no clock, and the same
// input always gives the same output, so a plan can be reproduced and its
// exclusions explained under --verbose.
//
// The rules follow Flux's image automation (image-reflector-controller)
// where it has one, so that patterns written for an ImagePolicy select the
// same tags here:
//
//   - regex.pattern is RE2 and not anchored; regex.extract is expanded from
//     the first match, as regexp.Regexp.Expand does ($1, ${name}).
//   - A key is semver when, after removing one leading lowercase "v", it is
//     a complete MAJOR.MINOR.PATCH version with optional prerelease and
//     build metadata (Masterminds StrictNewVersion). "v1.2.3" and "1.2.3"
//     are both semver and equal; "1.2", "V1.2.3" and "01.2.3" are not.
//     This is fluxcd/pkg/version.ParseVersion, which the semver ImagePolicy
//     uses.
//   - Build metadata does not order versions (1.2.3+a equals 1.2.3+b), and
//     a prerelease is lower than its release. A semver range drops
//     prereleases unless the range itself names one (">=1.0.0-0"), as
//     Masterminds constraints do.
//   - numerical keys are decimal numbers (see numerical.go), compared
//     exactly, so build numbers and timestamps beyond 2^53 keep their order.
//
// Keys that compare equal (1.2.3 and v1.2.3, 1 and 1.0, the same key
// extracted from two tags) are ordered by the tag string, higher first, so
// the result never depends on the order the registry listed the tags in.
package selector

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// DefaultLimit is how many tags an entry keeps when its config says nothing
// (selector.limit unset). Spec.Limit is already resolved: the caller that
// converts a config applies DefaultLimit for a missing limit, and 0 in Spec
// keeps every tag.
const DefaultLimit = 1

// The orders Spec.SortBy accepts.
const (
	// SortSemver orders by semantic version; it is the default.
	SortSemver = "semver"
	// SortAlphabetical orders by byte-wise string comparison.
	SortAlphabetical = "alphabetical"
	// SortNumerical orders by decimal value.
	SortNumerical = "numerical"
)

// Spec is a resolved tag selection, free of config types.
type Spec struct {
	// Pattern is selector.regex.pattern: RE2, not anchored; "" keeps all.
	Pattern string
	// Extract is selector.regex.extract: a $1 / ${name} template expanded
	// from the first match to give the sort key; "" makes the tag the key.
	// It needs Pattern.
	Extract string
	// Semver is a Masterminds v3 constraint; "" means no range.
	Semver string
	// SortBy is SortSemver (also for ""), SortAlphabetical or SortNumerical.
	SortBy string
	// Limit is how many tags to keep; 0 keeps all. See DefaultLimit.
	Limit int
}

// Exclusion says why a tag was not selected, for --verbose.
type Exclusion struct {
	// Tag is the tag as the registry listed it.
	Tag string
	// Reason is a short lowercase phrase naming the rule that dropped it.
	Reason string
}

// Selector is a compiled Spec. It is safe for concurrent use.
type Selector struct {
	spec       Spec
	pattern    *regexp.Regexp
	constraint *semver.Constraints
	compare    func(a, b key) int
	parse      func(string) (key, string)
}

// key is a tag's sort key, parsed once so sorting does no parsing.
type key struct {
	tag     string
	text    string
	version *semver.Version
	number  decimal
}

// Compile checks a Spec and prepares it. Errors name the selector field
// they come from, as the config does.
func Compile(s Spec) (*Selector, error) {
	sel := &Selector{spec: s}
	var errs []error
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("selector.regex.pattern: not a valid regular expression: %s",
				strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
		sel.pattern = re
	} else if s.Extract != "" {
		errs = append(errs, errors.New("selector.regex.extract: needs selector.regex.pattern, set a pattern with groups to extract from"))
	}
	if s.Semver != "" {
		c, err := semver.NewConstraint(s.Semver)
		if err != nil {
			errs = append(errs, fmt.Errorf("selector.semver: not a valid semver range: %w", err))
		}
		sel.constraint = c
	}
	switch s.SortBy {
	case "", SortSemver:
		sel.compare, sel.parse = compareSemver, parseSemver
	case SortAlphabetical:
		sel.compare, sel.parse = compareText, parseText
	case SortNumerical:
		sel.compare, sel.parse = compareNumber, parseNumber
	default:
		errs = append(errs, fmt.Errorf("selector.sortBy: unknown order %q, expected one of %s, %s, %s",
			s.SortBy, SortSemver, SortAlphabetical, SortNumerical))
	}
	if s.Limit < 0 {
		errs = append(errs, fmt.Errorf("selector.limit: %d is negative, use 0 to keep all tags", s.Limit))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sel, nil
}

// Select returns the kept tags, highest first, and why each other tag was
// dropped: first the tags a filter dropped, in the order given, then those
// beyond the limit, highest first. kept is never nil.
func (s *Selector) Select(tags []string) (kept []string, excluded []Exclusion) {
	keys := make([]key, 0, len(tags))
	seen := make(map[string]struct{}, len(tags))
	for _, tag := range tags {
		if _, dup := seen[tag]; dup {
			excluded = append(excluded, Exclusion{tag, "listed more than once"})
			continue
		}
		seen[tag] = struct{}{}
		k, reason := s.key(tag)
		if reason != "" {
			excluded = append(excluded, Exclusion{tag, reason})
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := s.compare(b, a); c != 0 {
			return c
		}
		return strings.Compare(b.tag, a.tag)
	})
	n := len(keys)
	if s.spec.Limit > 0 && s.spec.Limit < n {
		n = s.spec.Limit
	}
	kept = make([]string, 0, n)
	for _, k := range keys[:n] {
		kept = append(kept, k.tag)
	}
	beyond := fmt.Sprintf("beyond limit %d", s.spec.Limit)
	for _, k := range keys[n:] {
		excluded = append(excluded, Exclusion{k.tag, beyond})
	}
	return kept, excluded
}

// sortsBySemver reports whether keys are ordered as versions.
func (s *Selector) sortsBySemver() bool {
	return s.spec.SortBy == "" || s.spec.SortBy == SortSemver
}

// key applies steps 1 to 3 of the selection to one tag: the pattern, the
// extract, the semver range and the sort order's own syntax. A non-empty
// reason means the tag is dropped.
func (s *Selector) key(tag string) (key, string) {
	text := tag
	if s.pattern != nil {
		m := s.pattern.FindStringSubmatchIndex(tag)
		if m == nil {
			return key{}, "does not match selector.regex.pattern"
		}
		if s.spec.Extract != "" {
			text = string(s.pattern.ExpandString(nil, s.spec.Extract, tag, m))
			if text == "" {
				return key{}, "selector.regex.extract gives an empty key"
			}
		}
	}
	if s.constraint != nil {
		v, err := parseVersion(text)
		if err != nil {
			return key{}, withKey("not semver", tag, text)
		}
		if !s.constraint.Check(v) {
			return key{}, withKey("outside semver range "+s.spec.Semver, tag, text)
		}
		if s.sortsBySemver() {
			// Parsed already: a second parse would double the cost.
			return key{tag: tag, text: text, version: v}, ""
		}
	}
	k, reason := s.parse(text)
	if reason != "" {
		return key{}, withKey(reason, tag, text)
	}
	k.tag = tag
	return k, ""
}

// withKey names an extracted key in a reason, since the rule judged the
// key, not the tag the user sees.
func withKey(reason, tag, text string) string {
	if text != tag {
		return fmt.Sprintf("%s (key %q)", reason, text)
	}
	return reason
}

// parseVersion is fluxcd/pkg/version.ParseVersion: strict semver with an
// optional leading "v".
func parseVersion(s string) (*semver.Version, error) {
	return semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
}

func parseSemver(s string) (key, string) {
	v, err := parseVersion(s)
	if err != nil {
		return key{}, "not semver"
	}
	return key{text: s, version: v}, ""
}

func compareSemver(a, b key) int { return a.version.Compare(b.version) }

func parseText(s string) (key, string) { return key{text: s}, "" }

func compareText(a, b key) int { return strings.Compare(a.text, b.text) }

func parseNumber(s string) (key, string) {
	d, ok := parseDecimal(s)
	if !ok {
		return key{}, "not a number"
	}
	return key{text: s, number: d}, ""
}

func compareNumber(a, b key) int { return a.number.compare(b.number) }
