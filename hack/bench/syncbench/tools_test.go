package syncbench

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// syncTool is one way of mirroring the workload: argv writes whatever
// config the tool needs into dir and returns the command that copies every
// repo:tag in repos from the source at src (a registry host, or a chart
// repository URL where repos are chart names and tags versions) to the
// registry at dst.
type syncTool struct {
	name string
	argv func(src, dst, dir string, repos, tags []string) ([]string, error)
	// referrers: the tool copies each tag's signature and SBOM too.
	referrers bool
	// without names the same tool's run without referrers, to print what
	// copying them costs.
	without string
}

// peerTools are the tools flux-mirror sync is measured against, configured
// as issue 8 and TESTING.md section 7 describe.
// Only the selected ones are looked up; a missing one fails the benchmark
// before anything runs.
func peerTools(b *testing.B) []syncTool {
	var out []syncTool
	for _, p := range []struct {
		name  string
		argv  func(bin string) func(src, dst, dir string, repos, tags []string) ([]string, error)
		build func() string
	}{
		{"crane copy (4 at a time)", craneArgv, func() string { return testenv.Tool(b, "crane") }},
		{"skopeo sync --all", skopeoArgv, func() string { return testenv.SystemTool(b, "skopeo", "skopeo") }},
		{"regsync once (parallel 4)", regsyncArgv, func() string { return testenv.Tool(b, "regsync") }},
	} {
		if t := (syncTool{name: p.name}); selected(t) {
			t.argv = p.argv(p.build())
			out = append(out, t)
		}
	}
	return out
}

// fluxMirrorTool runs `flux-mirror sync`, one artifacts entry per
// repository selecting every workload tag (they all start with v; the
// referrers workload's sha256-<hex> tags do not), with includeReferrers
// when referrers is set.
func fluxMirrorTool(fm string, referrers bool) syncTool {
	t := syncTool{name: "flux-mirror sync", referrers: referrers}
	if referrers {
		t.name, t.without = "flux-mirror sync (includeReferrers)", "flux-mirror sync (no referrers)"
	}
	extra := ""
	if referrers {
		extra = "  includeReferrers: true\n"
	}
	t.argv = func(src, dst, dir string, repos, _ []string) ([]string, error) {
		return fluxMirrorArgv(fm, dir, workloadConfig(src, dst, repos, extra))
	}
	return t
}

// workloadConfig is a v1beta2 config with one artifacts entry per
// repository, selecting every workload tag (they all start with v; the
// sha256-<hex> tags of signatures do not), each entry followed by extra
// (more of its fields, indented by two spaces).
func workloadConfig(src, dst string, repos []string, extra string) string {
	var b strings.Builder
	b.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\nartifacts:\n")
	for _, r := range repos {
		fmt.Fprintf(&b, "- source: %s/%s\n  destination: %s/%s\n", src, r, dst, r)
		b.WriteString("  selector:\n    regex: {pattern: '^v'}\n    sortBy: alphabetical\n    limit: 0\n")
		b.WriteString(extra)
	}
	return b.String()
}

// fluxMirrorArgv writes config into dir and returns the sync command.
func fluxMirrorArgv(fm, dir, config string) ([]string, error) {
	cfg := filepath.Join(dir, "flux-mirror.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return []string{fm, "sync", "-f", cfg, "--insecure", "--no-progress"}, nil
}

// craneArgv is what the public flux-mirror does: one `crane copy` per tag,
// four at a time (xargs -P4). GNU time then reports the largest single
// crane process's memory, not the sum of four.
func craneArgv(crane string) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, dir string, repos, tags []string) ([]string, error) {
		var b strings.Builder
		for _, r := range repos {
			for _, t := range tags {
				fmt.Fprintf(&b, "%s/%s:%s %s/%s:%s\n", src, r, t, dst, r, t)
			}
		}
		list := filepath.Join(dir, "crane.list")
		if err := os.WriteFile(list, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{"sh", "-c", `exec xargs -P4 -L1 "$0" copy <"$1"`, crane, list}, nil
	}
}

// skopeoArgv runs skopeo sync from a YAML source list. Without --scoped the
// destination is dst/<last path element>, so the common prefix goes in dst.
func skopeoArgv(skopeo string) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, dir string, repos, tags []string) ([]string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s:\n  tls-verify: false\n  images:\n", src)
		prefix := ""
		for _, r := range repos {
			fmt.Fprintf(&b, "    %s: [%s]\n", r, strings.Join(tags, ", "))
			p := path.Dir(r)
			if prefix != "" && p != prefix {
				return nil, fmt.Errorf("skopeo: repositories %q need one common parent", repos)
			}
			prefix = p
		}
		cfg := filepath.Join(dir, "skopeo.yaml")
		policy := filepath.Join(dir, "policy.json")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o600); err != nil {
			return nil, err
		}
		return []string{skopeo, "--policy", policy, "sync", "--src", "yaml", "--dest", "docker", "--all", "--preserve-digests",
			"--src-tls-verify=false", "--dest-tls-verify=false", cfg, dst + "/" + prefix}, nil
	}
}

// regsyncArgv runs `regsync once` with one repository entry per repository.
func regsyncArgv(regsync string) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, dir string, repos, _ []string) ([]string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "version: 1\ncreds:\n- registry: %s\n  tls: disabled\n- registry: %s\n  tls: disabled\n", src, dst)
		b.WriteString("defaults:\n  parallel: 4\nsync:\n")
		for _, r := range repos {
			fmt.Fprintf(&b, "- source: %s/%s\n  target: %s/%s\n  type: repository\n", src, r, dst, r)
		}
		cfg := filepath.Join(dir, "regsync.yaml")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{regsync, "once", "-c", cfg}, nil
	}
}

// craneCopy copies one reference with a single crane process (the 1 GiB
// case).
func craneCopy(crane string) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, _ string, repos, tags []string) ([]string, error) {
		ref := repos[0] + ":" + tags[0]
		return []string{crane, "copy", src + "/" + ref, dst + "/" + ref}, nil
	}
}

// versions names the registry, flux-mirror and the peers, read from the
// binaries themselves or, for the peers of the test cache, from the
// versioned file each name links to.
func versions(fm string, peers ...string) string {
	out := []string{peerVersion("registry"), commandVersion(fm, "version")}
	for _, p := range peers {
		out = append(out, peerVersion(p))
	}
	return strings.Join(out, "; ")
}

// peerVersion: hack/testenv.sh links each peer it builds to <name>-<version>;
// Debian's are asked.
func peerVersion(name string) string {
	if target, err := os.Readlink(filepath.Join(testenv.BinDir(), name)); err == nil {
		if v, ok := strings.CutPrefix(filepath.Base(target), name+"-"); ok {
			return name + " " + v
		}
	}
	if name == "nginx" {
		return commandVersion(name, "-v") // on stderr
	}
	return commandVersion(name, "--version")
}

// commandVersion is what argv prints on one line, named after the binary.
func commandVersion(argv ...string) string {
	b, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	v := strings.Join(strings.Fields(string(b)), " ")
	if err != nil || v == "" {
		v = "?"
	}
	if !strings.HasPrefix(v, filepath.Base(argv[0])) && !strings.HasPrefix(v, argv[0]) {
		v = filepath.Base(argv[0]) + " " + v
	}
	return v
}
