package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NginxOptions shape an nginx front.
type NginxOptions struct {
	// MaxBodySize is client_max_body_size ("1m"); empty means no cap
	// (nginx's own default would be 1m).
	MaxBodySize string
	// LimitRate is limit_rate for responses ("12m"); empty means none.
	LimitRate string
	// TLS serves HTTPS with this certificate and key; nil serves HTTP.
	TLS *NginxTLS
	// HTTP holds more directives at the http level (a limit_req_zone).
	HTTP string
	// Location holds more directives in the proxied location (limit_req,
	// add_header).
	Location string
}

// NginxTLS is nginx's serving certificate.
type NginxTLS struct {
	CertFile, KeyFile string
	// ClientCAFile, when set, makes nginx require a client certificate
	// issued by this CA (mTLS).
	ClientCAFile string
}

// Nginx is Debian's nginx running as one process of the test, in its own
// prefix directory, on a free loopback port.
type Nginx struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// Dir is nginx's prefix: config, logs, temp files.
	Dir  string
	proc *process
}

// StartNginxProxy starts nginx as a reverse proxy to upstream (a URL such
// as http://127.0.0.1:5000). The client's Host header is passed on, so a
// registry's upload Location URLs come back through the proxy; request
// bodies are streamed, so MaxBodySize applies as a registry client meets
// it behind a real proxy. It stops when the test ends.
func StartNginxProxy(t testing.TB, upstream string, o NginxOptions) *Nginx {
	t.Helper()
	return startNginx(t, o, fmt.Sprintf(`proxy_pass %s;
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_max_temp_file_size 0;`, upstream))
}

// StartNginxStatic starts nginx serving the files under root, as a storage
// service or CDN a registry redirects blob downloads to. It stops when the
// test ends.
func StartNginxStatic(t testing.TB, root string, o NginxOptions) *Nginx {
	t.Helper()
	return startNginx(t, o, fmt.Sprintf("root %s;", root))
}

// startNginx writes a config whose one location holds location and runs
// nginx in the foreground without a master process, so that it needs no
// root paths and stops with its process.
func startNginx(t testing.TB, o NginxOptions, location string) *Nginx {
	t.Helper()
	bin := SystemTool(t, "nginx", "nginx")
	dir := t.TempDir()
	for _, sub := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	n := &Nginx{Host: "127.0.0.1:" + strconv.Itoa(ports[0]), Dir: dir}
	writeTestFile(t, filepath.Join(dir, "nginx.conf"), n.config(o, location))
	p, err := startProcess("nginx", bin, filepath.Join(dir, "nginx.out"),
		"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "logs", "error.log"))
	if err != nil {
		t.Fatal(err)
	}
	n.proc = p
	t.Cleanup(p.kill)
	if err := waitListening(p, n.Host, 20*time.Second); err != nil {
		t.Fatalf("%v; error log:\n%s", err, tail(filepath.Join(dir, "logs", "error.log")))
	}
	return n
}

func (n *Nginx) config(o NginxOptions, location string) string {
	maxBody := o.MaxBodySize
	if maxBody == "" {
		maxBody = "0"
	}
	listen := n.Host
	var tlsLines string
	if o.TLS != nil {
		listen += " ssl"
		tlsLines = fmt.Sprintf("ssl_certificate %s;\n    ssl_certificate_key %s;", o.TLS.CertFile, o.TLS.KeyFile)
		if o.TLS.ClientCAFile != "" {
			tlsLines += fmt.Sprintf("\n    ssl_client_certificate %s;\n    ssl_verify_client on;", o.TLS.ClientCAFile)
		}
	}
	var rate string
	if o.LimitRate != "" {
		rate = "limit_rate " + o.LimitRate + ";"
	}
	tmp := func(name string) string { return filepath.Join(n.Dir, "tmp", name) }
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %s;
error_log %s info;
events { worker_connections 256; }
http {
  # Whether a request carried an Authorization header, never its value.
  map $http_authorization $fm_auth { "" none; default present; }
  log_format fm '$request_method $request_uri $status auth=$fm_auth range=$http_content_range length=$content_length';
  access_log %s fm;
  client_body_temp_path %s;
  proxy_temp_path %s;
  fastcgi_temp_path %s;
  uwsgi_temp_path %s;
  scgi_temp_path %s;
  %s
  server {
    listen %s;
    %s
    client_max_body_size %s;
    location / {
      %s
      %s
      %s
    }
  }
}
`, filepath.Join(n.Dir, "nginx.pid"), filepath.Join(n.Dir, "logs", "error.log"),
		filepath.Join(n.Dir, "logs", "access.log"),
		tmp("body"), tmp("proxy"), tmp("fastcgi"), tmp("uwsgi"), tmp("scgi"),
		o.HTTP, listen, tlsLines, maxBody, location, rate, o.Location)
}

// AccessLog returns nginx's access log lines so far: method, URI, status,
// auth=present|none, the Content-Range and Content-Length of the request.
// A line is written when its request completes, so it first waits until
// the log stops growing.
func (n *Nginx) AccessLog(t testing.TB) []string {
	t.Helper()
	path := filepath.Join(n.Dir, "logs", "access.log")
	waitSettled(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// waitListening waits until a peer accepts TCP connections on hostPort,
// for peers whose readiness cannot be asked over plain HTTP.
func waitListening(p *process, hostPort string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	for {
		if p.exited() {
			return fmt.Errorf("testenv: %s exited (%v); output:\n%s", p.name, p.err, tail(p.log))
		}
		if c, err := d.DialContext(ctx, "tcp", hostPort); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: %s not listening on %s after %s", p.name, hostPort, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
