package main

import (
	"bufio"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// request is one access log line of a distribution registry.
type request struct {
	method string
	path   string
	query  url.Values
	status string
}

// accessLine matches the request and status of an Apache combined log line:
// `… "PUT /v2/app/blobs/uploads/ID?digest=sha256%3A… HTTP/1.1" 201 0 …`.
var accessLine = regexp.MustCompile(`"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d{3}) `)

// logMark is a position in a registry log: requests logged after it belong
// to the run that started there.
type logMark struct {
	path   string
	offset int64
}

func markLog(path string) logMark {
	st, err := os.Stat(path)
	if err != nil {
		return logMark{path: path}
	}
	return logMark{path: path, offset: st.Size()}
}

// requestsSince returns the requests logged after m. The registry writes a
// line when the request completes, which may be a moment after the client
// saw the response, hence the short wait.
func requestsSince(m logMark) ([]request, error) {
	time.Sleep(300 * time.Millisecond)
	f, err := os.Open(m.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(m.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		g := accessLine.FindStringSubmatch(sc.Text())
		if g == nil {
			continue
		}
		u, err := url.ParseRequestURI(g[2])
		if err != nil {
			continue
		}
		out = append(out, request{method: g[1], path: u.Path, query: u.Query(), status: g[3]})
	}
	return out, sc.Err()
}

// traffic sums what one run asked of one registry.
type traffic struct {
	blobs, manifests, tagLists, other int
	// uploads are committed blob uploads (PUT ?digest= or a monolithic
	// POST ?digest=, answered 201), by digest: each sent the whole blob.
	uploads []string
	mounts  int // cross-repository mounts answered 201: no bytes sent
}

func countTraffic(reqs []request) traffic {
	var t traffic
	for _, r := range reqs {
		switch {
		case strings.Contains(r.path, "/blobs/"):
			t.blobs++
			if r.status != "201" {
				continue
			}
			if d := r.query.Get("digest"); d != "" && (r.method == "PUT" || r.method == "POST") {
				t.uploads = append(t.uploads, d)
			} else if r.method == "POST" && r.query.Get("mount") != "" {
				t.mounts++
			}
		case strings.Contains(r.path, "/manifests/"):
			t.manifests++
		case strings.HasSuffix(r.path, "/tags/list"):
			t.tagLists++
		default:
			t.other++ // /v2/ pings, the catalog
		}
	}
	return t
}
