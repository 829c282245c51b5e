package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/mirror"
)

// finish prints the results and the Summary (text) or the report (json,
// yaml), writes --report, and returns the exit status as an error.
func (o *syncOptions) finish(ctx context.Context, results []mirror.EntryResult, elapsed time.Duration, start time.Time) error {
	rep := buildReport(results, elapsed, start, ctx.Err() != nil)
	if o.reportPath != "" {
		if err := writeReportFile(o.reportPath, rep); err != nil {
			return err
		}
	}
	out := o.streams.Out
	switch o.output {
	case "json":
		b, err := reportJSON(rep)
		if err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
	default:
		fmt.Fprintln(out, summaryLine(rep.Report.Summary, elapsed))
	}
	// The report's exitCode decides; --drift-exit-code only renumbers 2.
	s := rep.Report.Summary
	switch {
	case ctx.Err() != nil:
		// main names the signal in front of this.
		return &ExitError{Code: 1, Err: errors.New("the results above are what finished")}
	case s.ExitCode == 1:
		return &ExitError{Code: 1, Silent: true, Err: fmt.Errorf("%d failed", s.Failed)}
	case s.ExitCode == 2 && o.driftExitCode != 0:
		return &ExitError{Code: o.driftExitCode, Silent: true, Err: fmt.Errorf("%d drifted", s.Drifted)}
	}
	return nil
}

// printEntry writes an entry's text lines: one per tag, or one for a
// failed plan.
func printEntry(w io.Writer, r *mirror.EntryResult) {
	if r.Err != nil {
		fmt.Fprintf(w, "✗ %s — plan failed: %s\n", r.Source, ErrorLine(r.Err))
		return
	}
	for _, t := range r.Tags {
		if t.Status == mirror.StatusFailed {
			fmt.Fprintf(w, "✗ %s:%s — %s\n", r.Source, t.Tag, ErrorLine(t.Err))
		} else {
			fmt.Fprintf(w, "✔ %s:%s (%s)\n", r.Source, t.Tag, t.Status)
		}
		tag := t.Tag
		if t.DestinationTag != "" {
			tag = t.DestinationTag
		}
		fmt.Fprintf(w, "  → %s:%s\n", r.Destination, tag)
		if t.Verification != nil {
			fmt.Fprintln(w, verificationLine(t.Verification))
		}
		for _, ref := range t.Referrers {
			fmt.Fprintln(w, referrerLine(ref))
		}
	}
}

// verificationLine is the text line of the signature checked before a
// tag was copied (or skipped as too new).
func verificationLine(v *mirror.Verification) string {
	who := "signed with the key of verify.publicKey"
	if v.Identity != "" {
		who = fmt.Sprintf("signed by %s (issuer %s)", v.Identity, v.Issuer)
	}
	if !v.IntegratedTime.IsZero() {
		who += fmt.Sprintf(", logged %s ago", v.Age.Round(time.Second))
	}
	if v.TooNew {
		who += fmt.Sprintf(": younger than verify.minAge %s, not copied yet", v.MinAge)
	}
	return "    " + who
}

// verificationRow is the report's verification block.
func verificationRow(v *mirror.Verification) *v1beta2.Verification {
	if v == nil {
		return nil
	}
	row := &v1beta2.Verification{Provider: v.Provider, Issuer: v.Issuer, Identity: v.Identity}
	if !v.IntegratedTime.IsZero() {
		row.IntegratedTime = v.IntegratedTime.UTC().Format(time.RFC3339)
		row.Age = v.Age.Round(time.Second).String()
	}
	if v.MinAge > 0 {
		row.MinAge = v.MinAge.String()
	}
	return row
}

// referrerLine is the text line of one referrer under its tag: an OCI
// referrer by digest and artifact type, a cosign tag by name.
func referrerLine(r mirror.ReferrerResult) string {
	what := "referrer " + r.Digest
	if r.ArtifactType != "" {
		what += " (" + r.ArtifactType + ")"
	}
	if r.Tag != "" {
		what = "cosign tag " + r.Tag
	}
	switch {
	case r.Status == mirror.StatusFailed:
		return fmt.Sprintf("    %s: failed — %s", what, ErrorLine(r.Err))
	case r.DestinationDigest != "":
		return fmt.Sprintf("    %s: %s (the destination has %s)", what, r.Status, r.DestinationDigest)
	}
	return fmt.Sprintf("    %s: %s", what, r.Status)
}

// summaryLine is the last line of text output; zero counts are left out.
func summaryLine(s v1beta2.Summary, elapsed time.Duration) string {
	counts := []struct {
		n    int
		word string
	}{
		{s.Copied, "copied"}, {s.Overwritten, "overwritten"}, {s.Skipped, "skipped"}, {s.Drifted, "drifted"},
		{s.WouldCopy, "would-copy"}, {s.WouldOverwrite, "would-overwrite"}, {s.Failed, "failed"},
	}
	var parts []string
	for _, c := range counts {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.word))
		}
	}
	what := strings.Join(parts, ", ")
	if what == "" {
		what = "nothing to mirror"
	}
	return fmt.Sprintf("Summary: %s in %.1fs.", what, elapsed.Seconds())
}

// buildReport is the v1beta2 report of a run.
func buildReport(results []mirror.EntryResult, elapsed time.Duration, start time.Time, interrupted bool) v1beta2.Report {
	rep := v1beta2.Report{APIVersion: v1beta2.GroupVersion, Kind: v1beta2.KindReport, Report: v1beta2.ReportStatus{
		Reporter:   "flux-mirror/" + Version(),
		Timestamp:  start.UTC().Format(time.RFC3339),
		DurationMs: elapsed.Milliseconds(),
		Results:    make([]v1beta2.EntryResult, 0, len(results)),
	}}
	s := &rep.Report.Summary
	s.Entries = len(results)
	// Counts are of tags; a drifted cosign tag still makes the run drift.
	referrersDrifted := false
	for _, r := range results {
		er := v1beta2.EntryResult{Source: r.Source, Destination: r.Destination, Status: v1beta2.EntryCompleted, Tags: []v1beta2.TagResult{}}
		if r.Err != nil {
			er.Status, er.Error = v1beta2.EntryFailed, ErrorLine(r.Err)
			s.Failed++
		}
		for _, t := range r.Tags {
			tr := v1beta2.TagResult{Tag: t.Tag, Status: t.Status, Digest: t.Digest, SourceDigest: t.SourceDigest, Reason: t.Reason,
				Verification: verificationRow(t.Verification)}
			if t.Err != nil {
				tr.Error = ErrorLine(t.Err)
			}
			count(s, t.Status)
			tr.Referrers, referrersDrifted = referrerRows(t.Referrers, referrersDrifted)
			er.Tags = append(er.Tags, tr)
		}
		rep.Report.Results = append(rep.Report.Results, er)
	}
	switch {
	case s.Failed > 0 || interrupted:
		s.ExitCode = 1
	case s.Drifted > 0 || referrersDrifted:
		s.ExitCode = 2
	}
	return rep
}

// referrerRows are a tag's referrer rows in the report; drifted becomes
// true when one drifted.
func referrerRows(refs []mirror.ReferrerResult, drifted bool) ([]v1beta2.ReferrerResult, bool) {
	var out []v1beta2.ReferrerResult
	for _, r := range refs {
		row := v1beta2.ReferrerResult{Digest: r.Digest, ArtifactType: r.ArtifactType, Tag: r.Tag, Status: r.Status, Reason: r.Reason}
		if r.Err != nil {
			row.Error = ErrorLine(r.Err)
		}
		drifted = drifted || r.Status == mirror.StatusDrifted
		out = append(out, row)
	}
	return out, drifted
}

func count(s *v1beta2.Summary, status string) {
	switch status {
	case v1beta2.StatusCopied:
		s.Copied++
	case v1beta2.StatusOverwritten:
		s.Overwritten++
	case v1beta2.StatusSkipped:
		s.Skipped++
	case v1beta2.StatusDrifted:
		s.Drifted++
	case v1beta2.StatusWouldCopy:
		s.WouldCopy++
	case v1beta2.StatusWouldOverwrite:
		s.WouldOverwrite++
	case v1beta2.StatusFailed:
		s.Failed++
	}
}

// reportJSON is the report as JSON with "$schema", indented by two spaces.
func reportJSON(rep v1beta2.Report) ([]byte, error) {
	rep.Schema = v1beta2.ReportSchemaURL
	b, err := json.MarshalIndent(rep, "", "  ")
	return append(b, '\n'), err
}

// writeReportFile writes the JSON report next to path and renames it into
// place, so that a reader never sees half a report.
func writeReportFile(path string, rep v1beta2.Report) error {
	b, err := reportJSON(rep)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--report %q: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("--report %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--report %q: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("--report %q: %w", path, err)
	}
	return nil
}

// syncProgress turns the engine's events into text lines (stdout), verbose
// detail and warnings (stderr) and a progress line on a terminal.
type syncProgress struct {
	o       *syncOptions
	entries int

	mu       sync.Mutex
	done     int
	terminal bool
	drawn    bool // a progress line is on the screen
	quit     chan struct{}
	wg       sync.WaitGroup
}

func newSyncProgress(o *syncOptions, entries int) *syncProgress {
	p := &syncProgress{o: o, entries: entries, quit: make(chan struct{})}
	if f, ok := o.streams.ErrOut.(*os.File); ok && !o.noProgress && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
	}
	return p
}

// start draws the progress line every 200ms while the run lasts.
func (p *syncProgress) start(m *mirror.Mirror) {
	if !p.terminal {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.mu.Lock()
				fmt.Fprintf(p.o.streams.ErrOut, "\r\033[K%d/%d entries, %s moved", p.done, p.entries, bytesString(m.BytesCopied()))
				p.drawn = true
				p.mu.Unlock()
			}
		}
	}()
}

func (p *syncProgress) stop() {
	close(p.quit)
	p.wg.Wait()
	p.clear()
}

// clear erases the progress line, if one is drawn, before other output.
func (p *syncProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.o.streams.ErrOut, "\r\033[K")
		p.drawn = false
	}
}

func (p *syncProgress) event(ev mirror.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	l := p.o.log()
	switch ev.Kind {
	case mirror.EntryStarted:
		l.Debugf("entry %s -> %s: planning", ev.Source, ev.Destination)
	case mirror.EntryPlanned:
		l.Debugf("entry %s: %d %s selected", ev.Source, len(ev.Tags), plural(len(ev.Tags), "tag", "tags"))
		for _, x := range ev.Excluded {
			l.Debugf("entry %s: tag %s excluded: %s", ev.Source, x.Tag, x.Reason)
		}
	case mirror.JobStarted:
		l.Debugf("%s:%s: started", ev.Source, ev.Tag)
	case mirror.Retrying:
		l.Debugf("%s:%s: attempt %d in %s after: %s", ev.Source, ev.Tag, ev.Attempt, ev.Wait, ErrorLine(ev.Err))
	case mirror.Drift:
		have := ev.Result.Digest
		if ev.Result.SourceDigest != "" {
			have += " (the index of the entry's platforms, made from " + ev.Result.SourceDigest + ")"
		}
		l.Warningf("%s:%s drifted: the source has %s, the destination %s:%s has %s; left as it is (set overwrite to replace it)",
			ev.Source, ev.Tag, have, ev.Destination, ev.Tag, ev.Result.DestinationDigest)
	case mirror.JobFinished:
		l.Debugf("%s:%s: %s after %d %s in %s", ev.Source, ev.Tag, ev.Result.Status, ev.Result.Attempts,
			plural(ev.Result.Attempts, "attempt", "attempts"), ev.Elapsed.Round(time.Millisecond))
	case mirror.EntryFinished:
		p.done++
		l.Debugf("entry %s: done in %s", ev.Source, ev.Elapsed.Round(time.Millisecond))
		if p.o.output == "text" {
			printEntry(p.o.streams.Out, ev.EntryResult)
		}
	}
}

func bytesString(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
