package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// Sample is what one measured command cost.
type Sample struct {
	Wall, CPU time.Duration
	// RSSKiB is the peak resident memory of the largest single process of
	// the command's tree (GNU time's %M), in KiB.
	RSSKiB int64
}

// Measure runs argv under GNU time with HOME set to home (created if
// missing), which forks it from a small process and reports the rusage of
// its whole process tree (wait4 includes every descendant the child
// reaped). Taking rusage from this Go process instead would charge the
// child with this process's own memory: Go starts children with vfork, and
// the kernel keeps the parent's high-water mark across exec. A command
// that fails is an error carrying its output.
func Measure(home string, argv []string) (Sample, error) {
	report := filepath.Join(home, "time.out")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return Sample{}, err
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", report, "-f", "%M"}, argv...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("%v: %s", err, out)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		return Sample{}, err
	}
	var rss int64
	if _, err := fmt.Sscanf(string(raw), "%d", &rss); err != nil {
		return Sample{}, fmt.Errorf("parse %q: %w", raw, err)
	}
	// CPU from our own wait4 on time: microseconds, and it includes the
	// measured tree (time reaps it); GNU time itself rounds to 10 ms.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return Sample{Wall: wall, CPU: cpu, RSSKiB: rss}, nil
}

// Median is the median of each figure of s on its own (zero for none).
func Median(s []Sample) Sample {
	if len(s) == 0 {
		return Sample{}
	}
	pick := func(get func(Sample) int64) int64 {
		v := make([]int64, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return Sample{
		Wall:   time.Duration(pick(func(x Sample) int64 { return int64(x.Wall) })),
		CPU:    time.Duration(pick(func(x Sample) int64 { return int64(x.CPU) })),
		RSSKiB: pick(func(x Sample) int64 { return x.RSSKiB }),
	}
}
