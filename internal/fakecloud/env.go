package fakecloud

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Unsetenv removes name from the environment until the test ends, when its
// old value comes back. (t.Setenv alone can only set a variable, and an
// empty value is not the same as none for the cloud SDKs.)
func Unsetenv(t testing.TB, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore of the old value
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// IsolateAWS gives the test an AWS environment of its own: every AWS_
// variable of the machine unset (AWS_CA_BUNDLE included, which this
// machine presets), HOME and the shared config and credentials files in an
// empty directory, and the instance metadata service off.
func IsolateAWS(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			Unsetenv(t, name)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// IsolateGoogleAzure gives the test a clean Google and Azure environment: a
// throwaway HOME, none of the identity variables the two SDKs read, no
// AWS_CA_BUNDLE and no proxies. Each test then sets what it exercises.
func IsolateGoogleAzure(t testing.TB) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "CLOUDSDK_CONFIG",
		"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
		"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_TOKEN_CREDENTIALS",
		"AZURE_ADDITIONALLY_ALLOWED_TENANTS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT",
		"AWS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		Unsetenv(t, k)
	}
}

// ServeECR gives the test an isolated AWS environment (IsolateAWS) whose
// ECR endpoint is a new fake and whose identity is a static key the fake
// issued: provider ecr then mints a login with one GetAuthorizationToken
// call, signed in the registry host's region.
func ServeECR(t testing.TB) *AWS {
	t.Helper()
	IsolateAWS(t)
	f := NewAWS(t)
	id, secret := f.StaticKey()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_ENDPOINT_URL_ECR", f.URL)
	return f
}

// ECRCalls returns the ecr:GetAuthorizationToken calls so far, refused
// ones included.
func (f *AWS) ECRCalls() []AWSCall {
	var calls []AWSCall
	for _, c := range f.Calls() {
		if c.Action == ECRTarget {
			calls = append(calls, c)
		}
	}
	return calls
}

// CheckECRLogin accepts the login an ECR authorization token of this fake
// holds (username AWS and a password it issued), as a registry's token
// service in front of ECR would; testenv.StartLoginRegistry takes it.
func (f *AWS) CheckECRLogin(user, password string) error {
	if user != "AWS" || !slices.Contains(f.ECRPasswords(), password) {
		return fmt.Errorf("username %q with a password ECR did not issue", user)
	}
	return nil
}
