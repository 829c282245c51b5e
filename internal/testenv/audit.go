package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// auditPolicy records every request once, when its response is complete,
// without bodies.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
`

// Request is one API request as the server's audit log recorded it.
type Request struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Requests returns the requests user has made so far, in order, as the API
// server recorded them. The log is written before each response is sent,
// so a request a client has seen answered is always there.
func (e *Env) Requests(user string) ([]Request, error) {
	f, err := os.Open(filepath.Join(e.Dir, "audit.log"))
	if err != nil {
		return nil, fmt.Errorf("testenv: audit log: %w", err)
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var r Request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("testenv: audit log: %w", err)
		}
		if r.User.Username == user {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}
