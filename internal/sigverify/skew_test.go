package sigverify_test

import (
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
)

// TestCheckAgeLogAhead: a log time a little after the local clock (clock
// skew, or a signature made this second) is an age of zero, not a negative
// one, and still too new for any minAge.
func TestCheckAgeLogAhead(t *testing.T) {
	now := time.Now()
	r := &sigverify.Result{IntegratedTime: now.Add(2 * time.Second), Where: "referrer sha256:x"}
	for _, minAge := range []time.Duration{0, time.Minute} {
		age, tooNew, err := (&sigverify.Policy{MinAge: minAge}).CheckAge(r, now)
		if age != 0 || tooNew != (minAge > 0) || err != nil {
			t.Errorf("minAge %s: CheckAge = %s, %v, %v; want 0, %v, no error", minAge, age, tooNew, err, minAge > 0)
		}
	}
}
