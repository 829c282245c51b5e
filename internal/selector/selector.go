// Package selector picks the tags of a repository to mirror: a regular
// expression filter with an optional sort key template, a semver range, an
// order and a limit.
//
// Minimal stand-in written on h-mirror so that the engine compiles; the
// h-selector branch owns this package and replaces this file on merge.
package selector

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/Masterminds/semver/v3"
)

// Spec is a tag selection as the config writes it.
type Spec struct {
	Pattern string // regex.pattern, RE2, not anchored; "" keeps all
	Extract string // regex.extract template ($1, ${name}); "" = the tag is the key
	Semver  string // Masterminds v3 constraint; "" = no range
	SortBy  string // "semver" (also for ""), "alphabetical", "numerical"
	Limit   int    // 0 = all
}

// Selector is a compiled Spec.
type Selector struct {
	spec       Spec
	re         *regexp.Regexp
	constraint *semver.Constraints
}

// Exclusion is a tag that was not selected and why.
type Exclusion struct {
	Tag, Reason string
}

// Compile checks s and prepares it; errors name the field.
func Compile(s Spec) (*Selector, error) {
	sel := &Selector{spec: s}
	var err error
	if s.Pattern != "" {
		if sel.re, err = regexp.Compile(s.Pattern); err != nil {
			return nil, fmt.Errorf("selector.regex.pattern: %w", err)
		}
	}
	if s.Semver != "" {
		if sel.constraint, err = semver.NewConstraint(s.Semver); err != nil {
			return nil, fmt.Errorf("selector.semver: %w", err)
		}
	}
	switch s.SortBy {
	case "", "semver", "alphabetical", "numerical":
	default:
		return nil, fmt.Errorf("selector.sortBy: %q is not semver, alphabetical or numerical", s.SortBy)
	}
	if s.Limit < 0 {
		return nil, fmt.Errorf("selector.limit: must be 0 or more, got %d", s.Limit)
	}
	return sel, nil
}

type candidate struct {
	tag, key string
	ver      *semver.Version
	num      float64
}

// Select returns the kept tags, highest first, and the others with a reason.
func (s *Selector) Select(tags []string) ([]string, []Exclusion) {
	var kept []candidate
	var out []Exclusion
	for _, t := range tags {
		c, reason := s.candidate(t)
		if reason != "" {
			out = append(out, Exclusion{Tag: t, Reason: reason})
			continue
		}
		kept = append(kept, c)
	}
	sort.SliceStable(kept, func(i, j int) bool { return s.less(kept[j], kept[i]) })
	var sel []string
	for i, c := range kept {
		if s.spec.Limit > 0 && i >= s.spec.Limit {
			out = append(out, Exclusion{Tag: c.tag, Reason: fmt.Sprintf("beyond limit %d", s.spec.Limit)})
			continue
		}
		sel = append(sel, c.tag)
	}
	return sel, out
}

func (s *Selector) candidate(tag string) (candidate, string) {
	c := candidate{tag: tag, key: tag}
	if s.re != nil {
		m := s.re.FindStringSubmatchIndex(tag)
		if m == nil {
			return c, "does not match selector.regex.pattern"
		}
		if s.spec.Extract != "" {
			c.key = string(s.re.ExpandString(nil, s.spec.Extract, tag, m))
		}
	}
	var err error
	if s.constraint != nil || s.spec.SortBy == "" || s.spec.SortBy == "semver" {
		if c.ver, err = semver.NewVersion(c.key); err != nil {
			return c, "not semver"
		}
		if s.constraint != nil && !s.constraint.Check(c.ver) {
			return c, "outside semver range " + s.spec.Semver
		}
	}
	if s.spec.SortBy == "numerical" {
		if c.num, err = strconv.ParseFloat(c.key, 64); err != nil {
			return c, "not a number"
		}
	}
	return c, ""
}

func (s *Selector) less(a, b candidate) bool {
	switch s.spec.SortBy {
	case "alphabetical":
		return a.key < b.key
	case "numerical":
		return a.num < b.num
	default:
		return a.ver.LessThan(b.ver)
	}
}
