package selector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// ex builds the expected exclusions compactly: "tag=reason" pairs.
func ex(pairs ...string) []Exclusion {
	out := []Exclusion{}
	for _, p := range pairs {
		tag, reason, _ := strings.Cut(p, "=")
		out = append(out, Exclusion{tag, reason})
	}
	return out
}

func TestSelect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		spec     Spec
		tags     []string
		kept     []string
		excluded []Exclusion
	}{
		// Section 3, step 1: regex.pattern, RE2, not anchored.
		{
			name:     "pattern drops tags that do not match",
			spec:     Spec{Pattern: `^1\.`},
			tags:     []string{"1.0.0", "2.0.0", "1.1.0"},
			kept:     []string{"1.1.0", "1.0.0"},
			excluded: ex("2.0.0=does not match selector.regex.pattern"),
		},
		{
			name:     "pattern is not anchored",
			spec:     Spec{Pattern: `alpine`},
			tags:     []string{"1.2.3-alpine", "1.2.4", "1.2.2-alpine3.20"},
			kept:     []string{"1.2.3-alpine", "1.2.2-alpine3.20"},
			excluded: ex("1.2.4=does not match selector.regex.pattern"),
		},
		{
			name:     "empty pattern keeps all",
			spec:     Spec{},
			tags:     []string{"1.0.0", "1.0.1"},
			kept:     []string{"1.0.1", "1.0.0"},
			excluded: ex(),
		},
		// Step 1: regex.extract makes the key.
		{
			name:     "extract $1 is the sort key",
			spec:     Spec{Pattern: `^main-[0-9a-f]+-(\d+)$`, Extract: "$1", SortBy: SortNumerical},
			tags:     []string{"main-abc123-9", "main-def456-10", "main-0a1b2c-2", "pr-1-11"},
			kept:     []string{"main-def456-10", "main-abc123-9", "main-0a1b2c-2"},
			excluded: ex("pr-1-11=does not match selector.regex.pattern"),
		},
		{
			name:     "extract with a named group",
			spec:     Spec{Pattern: `^(?P<version>\d+\.\d+\.\d+)-debian$`, Extract: "${version}", Limit: 1},
			tags:     []string{"1.2.0-debian", "1.10.0-debian", "1.9.0-debian"},
			kept:     []string{"1.10.0-debian"},
			excluded: ex("1.9.0-debian=beyond limit 1", "1.2.0-debian=beyond limit 1"),
		},
		{
			name:     "extract giving an empty key drops the tag",
			spec:     Spec{Pattern: `^(\d+\.\d+\.\d+)?(-dev)?$`, Extract: "$1"},
			tags:     []string{"1.0.0", "-dev", "1.1.0-dev"},
			kept:     []string{"1.1.0-dev", "1.0.0"},
			excluded: ex("-dev=selector.regex.extract gives an empty key"),
		},
		{
			name:     "extracted key that is not semver names the key",
			spec:     Spec{Pattern: `^build-(.*)$`, Extract: "$1"},
			tags:     []string{"build-1.0.0", "build-latest"},
			kept:     []string{"build-1.0.0"},
			excluded: ex(`build-latest=not semver (key "latest")`),
		},
		{
			name: "same key extracted from two tags: higher tag first",
			spec: Spec{Pattern: `^(\d+)-`, Extract: "$1", SortBy: SortNumerical},
			tags: []string{"5-a", "5-c", "5-b", "4-z"},
			kept: []string{"5-c", "5-b", "5-a", "4-z"},
		},
		// Step 2: semver range.
		{
			name: "semver range drops keys outside it",
			spec: Spec{Semver: ">=1.2.0 <2.0.0"},
			tags: []string{"1.1.9", "1.2.0", "1.9.3", "2.0.0"},
			kept: []string{"1.9.3", "1.2.0"},
			excluded: ex("1.1.9=outside semver range >=1.2.0 <2.0.0",
				"2.0.0=outside semver range >=1.2.0 <2.0.0"),
		},
		{
			name:     "semver range drops non-semver keys even with another order",
			spec:     Spec{Semver: "^1", SortBy: SortAlphabetical},
			tags:     []string{"1.0.0", "latest", "1.0"},
			kept:     []string{"1.0.0"},
			excluded: ex("latest=not semver", "1.0=not semver"),
		},
		{
			name:     "semver range leaves prereleases out unless it names one",
			spec:     Spec{Semver: ">=1.0.0"},
			tags:     []string{"1.0.0", "1.1.0-rc.1"},
			kept:     []string{"1.0.0"},
			excluded: ex("1.1.0-rc.1=outside semver range >=1.0.0"),
		},
		{
			name: "semver range with a prerelease admits prereleases",
			spec: Spec{Semver: ">=1.0.0-0"},
			tags: []string{"1.0.0", "1.1.0-rc.1"},
			kept: []string{"1.1.0-rc.1", "1.0.0"},
		},
		{
			name:     "semver range applies to the extracted key",
			spec:     Spec{Pattern: `^app-(.+)$`, Extract: "$1", Semver: "~1.2"},
			tags:     []string{"app-1.2.5", "app-1.3.0"},
			kept:     []string{"app-1.2.5"},
			excluded: ex(`app-1.3.0=outside semver range ~1.2 (key "1.3.0")`),
		},
		// Step 3: sortBy semver, the default.
		{
			name:     "semver is the default order and drops non-semver keys",
			spec:     Spec{},
			tags:     []string{"latest", "1.10.0", "1.9.0", "main", "1.2", "sha-abc"},
			kept:     []string{"1.10.0", "1.9.0"},
			excluded: ex("latest=not semver", "main=not semver", "1.2=not semver", "sha-abc=not semver"),
		},
		{
			name:     "a leading v is semver and ties with the bare version",
			spec:     Spec{SortBy: SortSemver},
			tags:     []string{"1.2.3", "v1.2.3", "v1.10.0", "V2.0.0", "vv3.0.0"},
			kept:     []string{"v1.10.0", "v1.2.3", "1.2.3"},
			excluded: ex("V2.0.0=not semver", "vv3.0.0=not semver"),
		},
		{
			name:     "prereleases order below their release",
			spec:     Spec{},
			tags:     []string{"1.0.0-rc.2", "1.0.0", "1.0.0-rc.10", "1.0.0-beta", "1.0.0-alpha.1", "0.9.9"},
			kept:     []string{"1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0-beta", "1.0.0-alpha.1", "0.9.9"},
			excluded: ex(),
		},
		{
			name: "build metadata does not order, the tag string does",
			spec: Spec{},
			tags: []string{"1.0.0+build.2", "1.0.0+build.10", "1.0.0", "0.1.0+z"},
			kept: []string{"1.0.0+build.2", "1.0.0+build.10", "1.0.0", "0.1.0+z"},
		},
		{
			name:     "leading zeros and segments past uint64 are not semver",
			spec:     Spec{},
			tags:     []string{"01.2.3", "1.2.3", "18446744073709551616.0.0", "18446744073709551615.0.0"},
			kept:     []string{"18446744073709551615.0.0", "1.2.3"},
			excluded: ex("01.2.3=not semver", "18446744073709551616.0.0=not semver"),
		},
		// Step 3: alphabetical.
		{
			name: "alphabetical is byte-wise, highest first",
			spec: Spec{SortBy: SortAlphabetical},
			tags: []string{"RELEASE.2024-01-02", "RELEASE.2024-10-01", "RELEASE.2024-09-30", "Zeta", "alpha"},
			kept: []string{"alpha", "Zeta", "RELEASE.2024-10-01", "RELEASE.2024-09-30", "RELEASE.2024-01-02"},
		},
		// Step 3: numerical.
		{
			name:     "numerical drops non-numbers",
			spec:     Spec{SortBy: SortNumerical},
			tags:     []string{"9", "10", "latest", "1e3", "0x10", "NaN", "Inf", "1_000", "1.", ".5", ""},
			kept:     []string{"10", "9"},
			excluded: ex("latest=not a number", "1e3=not a number", "0x10=not a number", "NaN=not a number", "Inf=not a number", "1_000=not a number", "1.=not a number", ".5=not a number", "=not a number"),
		},
		{
			name: "numerical takes negatives and fractions",
			spec: Spec{SortBy: SortNumerical},
			tags: []string{"-1", "0", "-0.5", "2.25", "2.3", "+2.3", "-10", "-0"},
			kept: []string{"2.3", "+2.3", "2.25", "0", "-0", "-0.5", "-1", "-10"},
		},
		{
			name: "numerical keeps precision past 2^53",
			spec: Spec{SortBy: SortNumerical},
			tags: []string{"9007199254740993", "9007199254740992", "20240131235959123456789", "007", "7.000"},
			kept: []string{"20240131235959123456789", "9007199254740993", "9007199254740992", "7.000", "007"},
		},
		// Step 4: limit.
		{
			name:     "limit keeps the first N",
			spec:     Spec{Limit: 2},
			tags:     []string{"1.0.0", "3.0.0", "2.0.0", "4.0.0"},
			kept:     []string{"4.0.0", "3.0.0"},
			excluded: ex("2.0.0=beyond limit 2", "1.0.0=beyond limit 2"),
		},
		{
			name: "limit 0 keeps all",
			spec: Spec{Limit: 0},
			tags: []string{"1.0.0", "3.0.0", "2.0.0"},
			kept: []string{"3.0.0", "2.0.0", "1.0.0"},
		},
		{
			name: "limit larger than the tags keeps them all",
			spec: Spec{Limit: 10},
			tags: []string{"1.0.0"},
			kept: []string{"1.0.0"},
		},
		// Edge cases.
		{
			name:     "no tags",
			spec:     Spec{Limit: DefaultLimit},
			tags:     nil,
			kept:     []string{},
			excluded: ex(),
		},
		{
			name:     "a tag listed twice is kept once",
			spec:     Spec{},
			tags:     []string{"1.0.0", "2.0.0", "1.0.0"},
			kept:     []string{"2.0.0", "1.0.0"},
			excluded: ex("1.0.0=listed more than once"),
		},
		{
			name:     "all rules together, in order",
			spec:     Spec{Pattern: `^v(\d+\.\d+\.\d+)(-rc\.\d+)?$`, Extract: "$1$2", Semver: ">=1.0.0-0 <3", SortBy: SortSemver, Limit: 2},
			tags:     []string{"v0.9.0", "v1.0.0", "v2.0.0-rc.1", "v2.0.0", "v3.0.0", "latest", "v2.1.0"},
			kept:     []string{"v2.1.0", "v2.0.0"},
			excluded: ex(`v0.9.0=outside semver range >=1.0.0-0 <3 (key "0.9.0")`, `v3.0.0=outside semver range >=1.0.0-0 <3 (key "3.0.0")`, "latest=does not match selector.regex.pattern", "v2.0.0-rc.1=beyond limit 2", "v1.0.0=beyond limit 2"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Compile(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			kept, excluded := sel.Select(tc.tags)
			if kept == nil {
				t.Error("kept is nil, want an empty slice")
			}
			if !slices.Equal(kept, tc.kept) {
				t.Errorf("kept\n got %q\nwant %q", kept, tc.kept)
			}
			if tc.excluded != nil && !slices.Equal(excluded, tc.excluded) {
				t.Errorf("excluded\n got %q\nwant %q", excluded, tc.excluded)
			}
		})
	}
}

// TestSelectIgnoresInputOrder holds the tie-breaking rule: any permutation
// of the tags gives the same result.
func TestSelectIgnoresInputOrder(t *testing.T) {
	t.Parallel()
	tags := []string{"1.2.3", "v1.2.3", "1.2.3+b", "1.2.3+a", "1.0.0", "latest", "v1.0.0"}
	sel, err := Compile(Spec{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sel.Select(tags)
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(tags)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got, _ := sel.Select(shuffled); !slices.Equal(got, want) {
			t.Fatalf("Select(%q) = %q, want %q", shuffled, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec Spec
		want []string
	}{
		{Spec{Pattern: `(`}, []string{"selector.regex.pattern: not a valid regular expression: missing closing )"}},
		{Spec{Extract: "$1"}, []string{"selector.regex.extract: needs selector.regex.pattern"}},
		{Spec{Semver: ">>1"}, []string{"selector.semver: not a valid semver range"}},
		{Spec{SortBy: "date"}, []string{`selector.sortBy: unknown order "date", expected one of semver, alphabetical, numerical`}},
		{Spec{Limit: -1}, []string{"selector.limit: -1 is negative, use 0 to keep all tags"}},
		{Spec{Pattern: `[`, SortBy: "x", Limit: -2}, []string{"selector.regex.pattern", "selector.sortBy", "selector.limit"}},
	} {
		t.Run(fmt.Sprintf("%+v", tc.spec), func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tc.spec)
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// BenchmarkSelect10k selects from 10,000 tags, the size of a busy CI
// repository's tag list, in each order.
func BenchmarkSelect10k(b *testing.B) {
	tags := make([]string, 0, 10_000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 10_000 {
		switch i % 4 {
		case 0:
			tags = append(tags, fmt.Sprintf("v%d.%d.%d", r.IntN(5), r.IntN(50), r.IntN(100)))
		case 1:
			tags = append(tags, fmt.Sprintf("%d.%d.%d-rc.%d", r.IntN(5), r.IntN(50), r.IntN(100), r.IntN(9)))
		case 2:
			tags = append(tags, fmt.Sprintf("main-%08x-%d", r.Uint32(), 1_700_000_000+i))
		default:
			tags = append(tags, fmt.Sprintf("sha-%012x", r.Uint64()))
		}
	}
	for _, spec := range []Spec{
		{},
		{Semver: ">=1.0.0 <4", Limit: 5},
		{Pattern: `^main-[0-9a-f]+-(\d+)$`, Extract: "$1", SortBy: SortNumerical},
		{SortBy: SortAlphabetical},
	} {
		sel, err := Compile(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%q/%q/%q", spec.SortBy, spec.Semver, spec.Pattern), func(b *testing.B) {
			for b.Loop() {
				sel.Select(tags)
			}
		})
	}
}
