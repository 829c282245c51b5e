// Package kube connects to the Kubernetes API with the standard kubectl flags
// and writes the registry credentials Secret.
package kube

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Flags are the kubectl connection flags, with the same names, shorthands,
// defaults and environment variables as cli-runtime's
// genericclioptions.ConfigFlags (a test holds the two sets equal). They are
// bound here on top of clientcmd, which ConfigFlags wraps, because the
// genericclioptions package links kustomize and the OpenAPI stack: that alone
// quadruples the binary's resident memory at start-up.
type Flags struct {
	KubeConfig           string
	CacheDir             string
	CertFile             string
	KeyFile              string
	BearerToken          string
	Impersonate          string
	ImpersonateUID       string
	ImpersonateGroup     []string
	ImpersonateUserExtra []string
	Username             string
	Password             string
	ClusterName          string
	AuthInfoName         string
	Namespace            string
	Context              string
	APIServer            string
	TLSServerName        string
	Insecure             bool
	CAFile               string
	Timeout              string
	DisableCompression   bool
	ProxyURL             string

	// QPS and Burst are the flux CLI's --kube-api-qps and --kube-api-burst.
	QPS   float32
	Burst int

	loader clientcmd.ClientConfig
}

// AddFlags binds the flags to fs.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.KubeConfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	fs.StringVar(&f.CacheDir, "cache-dir", "", "Default cache directory (accepted for kubectl compatibility; flux-mirror caches nothing)")
	fs.StringVar(&f.CertFile, "client-certificate", "", "Path to a client certificate file for TLS")
	fs.StringVar(&f.KeyFile, "client-key", "", "Path to a client key file for TLS")
	fs.StringVar(&f.BearerToken, "token", "", "Bearer token for authentication to the API server")
	fs.StringVar(&f.Impersonate, "as", "", "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.")
	fs.StringVar(&f.ImpersonateUID, "as-uid", "", "UID to impersonate for the operation.")
	fs.StringArrayVar(&f.ImpersonateGroup, "as-group", nil, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	fs.StringArrayVar(&f.ImpersonateUserExtra, "as-user-extra", nil, "User extras to impersonate for the operation, this flag can be repeated to specify multiple values for the same key.")
	fs.StringVar(&f.Username, "username", "", "Username for basic authentication to the API server")
	fs.StringVar(&f.Password, "password", "", "Password for basic authentication to the API server")
	fs.StringVar(&f.ClusterName, "cluster", "", "The name of the kubeconfig cluster to use")
	fs.StringVar(&f.AuthInfoName, "user", "", "The name of the kubeconfig user to use")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	fs.StringVar(&f.Context, "context", "", "The name of the kubeconfig context to use")
	fs.StringVarP(&f.APIServer, "server", "s", "", "The address and port of the Kubernetes API server")
	fs.StringVar(&f.TLSServerName, "tls-server-name", "", "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used")
	fs.BoolVar(&f.Insecure, "insecure-skip-tls-verify", false, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	fs.StringVar(&f.CAFile, "certificate-authority", "", "Path to a cert file for the certificate authority")
	fs.StringVar(&f.Timeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
	fs.BoolVar(&f.DisableCompression, "disable-compression", false, "If true, opt-out of response compression for all requests to the server")
	fs.StringVar(&f.ProxyURL, "proxy-url", "", "Proxy URL to use for requests to the API server")
	fs.Float32Var(&f.QPS, "kube-api-qps", 50, "The maximum queries-per-second of requests sent to the Kubernetes API.")
	fs.IntVar(&f.Burst, "kube-api-burst", 300, "The maximum burst queries-per-second of requests sent to the Kubernetes API.")
}

// ClientConfig returns the kubeconfig loader with every flag applied. It
// reads nothing until asked for a config or a namespace, and falls back to
// the in-cluster configuration when no kubeconfig is found.
func (f *Flags) ClientConfig() clientcmd.ClientConfig {
	if f.loader != nil {
		return f.loader
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.KubeConfig
	// No ClusterDefaults: kubectl falls back to http://localhost:8080, which
	// only turns a missing kubeconfig into a confusing connection error.
	o := &clientcmd.ConfigOverrides{}
	o.AuthInfo.ClientCertificate = f.CertFile
	o.AuthInfo.ClientKey = f.KeyFile
	if f.BearerToken != "" {
		o.AuthInfo.Token = f.BearerToken
	}
	o.AuthInfo.Impersonate = f.Impersonate
	o.AuthInfo.ImpersonateUID = f.ImpersonateUID
	o.AuthInfo.ImpersonateGroups = f.ImpersonateGroup
	if len(f.ImpersonateUserExtra) > 0 {
		extra := map[string][]string{}
		for _, kv := range f.ImpersonateUserExtra {
			if k, v, ok := strings.Cut(kv, "="); ok {
				extra[k] = append(extra[k], v)
			}
		}
		o.AuthInfo.ImpersonateUserExtra = extra
	}
	o.AuthInfo.Username = f.Username
	o.AuthInfo.Password = f.Password
	o.Context.Cluster = f.ClusterName
	o.Context.AuthInfo = f.AuthInfoName
	o.Context.Namespace = f.Namespace
	o.CurrentContext = f.Context
	o.ClusterInfo.Server = f.APIServer
	o.ClusterInfo.TLSServerName = f.TLSServerName
	o.ClusterInfo.CertificateAuthority = f.CAFile
	o.ClusterInfo.InsecureSkipTLSVerify = f.Insecure
	o.ClusterInfo.DisableCompression = f.DisableCompression
	o.ClusterInfo.ProxyURL = f.ProxyURL
	if f.Timeout != "" && f.Timeout != "0" {
		o.Timeout = f.Timeout
	}
	f.loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, o)
	return f.loader
}

// RESTConfig returns the client configuration for the API server, with the
// rate limits of --kube-api-qps and --kube-api-burst.
func (f *Flags) RESTConfig() (*rest.Config, error) {
	cfg, err := f.ClientConfig().ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("no Kubernetes configuration: set --kubeconfig or $KUBECONFIG, or run inside a pod")
		}
		return nil, fmt.Errorf("kubernetes configuration: %w", err)
	}
	cfg.QPS = f.QPS
	cfg.Burst = f.Burst
	return cfg, nil
}

// ResolveNamespace returns -n if given, else the current context's
// namespace, else the ServiceAccount's namespace inside a pod, else
// "default". explicit reports whether -n was given.
func (f *Flags) ResolveNamespace() (ns string, explicit bool, err error) {
	if f.Namespace != "" {
		return f.Namespace, true, nil
	}
	ns, _, err = f.ClientConfig().Namespace()
	if err != nil && !clientcmd.IsEmptyConfig(err) {
		return "", false, fmt.Errorf("kubernetes namespace: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	return ns, false, nil
}
