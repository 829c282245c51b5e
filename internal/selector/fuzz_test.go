package selector

import (
	"strings"
	"testing"
)

// FuzzSelect holds Select's invariants on arbitrary input: no panic, kept
// tags come from the input, each at most once, in order highest first and
// no more than the limit, and every distinct tag is either kept or
// excluded, never both.
func FuzzSelect(f *testing.F) {
	f.Add("1.0.0\nv1.0.0\n2.0.0-rc.1\nlatest", "", "", "", uint8(0), uint8(1))
	f.Add("main-a-9\nmain-b-10\npr-1-3", `^main-\w+-(\d+)$`, "$1", "", uint8(2), uint8(0))
	f.Add("b\na\nB\n\n", ".", "", "", uint8(1), uint8(2))
	f.Add("1.2.3+a\n1.2.3+b\n1.2.4\n1.2.4", `(?P<v>.*)`, "${v}", ">=1.2.3", uint8(0), uint8(3))
	f.Add("-1\n+1\n1.0\n01\n1e3", "", "", "", uint8(2), uint8(0))
	orders := []string{SortSemver, SortAlphabetical, SortNumerical, ""}
	f.Fuzz(func(t *testing.T, list, pattern, extract, semver string, order, limit uint8) {
		s, err := Compile(Spec{Pattern: pattern, Extract: extract, Semver: semver, SortBy: orders[int(order)%len(orders)], Limit: int(limit)})
		if err != nil {
			return
		}
		tags := strings.Split(list, "\n")
		kept, excluded := s.Select(tags)
		if kept == nil {
			t.Fatal("kept is nil")
		}
		if limit > 0 && len(kept) > int(limit) {
			t.Fatalf("%d kept, limit %d", len(kept), limit)
		}
		input := map[string]int{}
		for _, tag := range tags {
			input[tag]++
		}
		seen := map[string]int{}
		for i, tag := range kept {
			if input[tag] == 0 {
				t.Fatalf("kept %q is not an input tag", tag)
			}
			seen[tag]++
			if i > 0 {
				a, _ := s.key(kept[i-1])
				b, _ := s.key(tag)
				if c := s.compare(a, b); c < 0 || (c == 0 && kept[i-1] <= tag) {
					t.Fatalf("%q before %q: not highest first", kept[i-1], tag)
				}
			}
		}
		for _, e := range excluded {
			if input[e.Tag] == 0 || e.Reason == "" {
				t.Fatalf("exclusion %+v: unknown tag or no reason", e)
			}
			seen[e.Tag]++
		}
		for tag, n := range input {
			if seen[tag] != n {
				t.Fatalf("tag %q given %d times, accounted for %d times", tag, n, seen[tag])
			}
		}
	})
}
