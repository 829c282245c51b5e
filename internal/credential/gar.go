package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/compute/metadata"
)

// garUsername is the fixed username Artifact Registry and Container
// Registry expect with an OAuth access token as the password.
const garUsername = "oauth2accesstoken"

// cloudPlatformScope is the OAuth scope that covers Artifact Registry.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// fromGAR mints an Artifact Registry (or Container Registry) login: a Google
// access token from Application Default Credentials, that is a
// GOOGLE_APPLICATION_CREDENTIALS file (service account key, workload
// identity federation), gcloud's application default credentials file, or
// the metadata server of GCE and GKE.
//
// Files go through the library's credential detection with req.http. The
// metadata server is asked here, with the library's metadata client: the
// detection's own path to it looks for the server without a context and
// remembers the answer for the process, while this one honours ctx and
// GCE_METADATA_HOST on every call. The metadata client is the library's own,
// which never goes through a proxy (the server is link-local).
func fromGAR(ctx context.Context, req registryRequest) (Credential, error) {
	path, _, err := googleCredentialsFile(ctx)
	if err != nil {
		return Credential{}, err
	}
	var tok *auth.Token
	if path == "" {
		tok, err = accessTokenFromMetadata(ctx)
	} else {
		tok, err = accessTokenFromFile(ctx, req.http)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("get a Google access token %s: %w", googleSource(path), err)
	}
	return Credential{Username: garUsername, Password: tok.Value, ExpiresAt: tok.Expiry}, nil
}

// accessTokenFromFile gets a cloud-platform access token with the
// credentials file that Application Default Credentials find.
func accessTokenFromFile(ctx context.Context, hc *http.Client) (*auth.Token, error) {
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{
		Scopes: []string{cloudPlatformScope},
		Client: hc,
	})
	if err != nil {
		return nil, err
	}
	return creds.Token(ctx)
}

// accessTokenFromMetadata gets a cloud-platform access token for the
// instance's (or, on GKE, the pod's) service account.
func accessTokenFromMetadata(ctx context.Context) (*auth.Token, error) {
	q := url.Values{"scopes": {cloudPlatformScope}}
	body, err := metadata.NewWithOptions(&metadata.Options{}).
		GetWithContext(ctx, "instance/service-accounts/default/token?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.AccessToken == "" {
		return nil, errors.New("the metadata server's reply holds no access token")
	}
	tok := &auth.Token{Value: res.AccessToken}
	if res.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(res.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// googleCredentialsFile finds the credentials Application Default
// Credentials would use, in the same order: the file named by
// GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials
// file, then the metadata server. It returns the file's path and content,
// or empty values when the metadata server is to be used, and an error
// telling how to set up credentials when there are none.
//
// GCE_METADATA_HOST says a metadata server is there. Without it, the
// library's probe of 169.254.169.254 and metadata.google.internal decides,
// under ctx; the library remembers its answer for the life of the process.
func googleCredentialsFile(ctx context.Context) (string, []byte, error) {
	if p := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("read the GOOGLE_APPLICATION_CREDENTIALS file: %w", err)
		}
		return p, data, nil
	}
	if p := gcloudADCFile(); p != "" {
		if data, err := os.ReadFile(p); err == nil {
			return p, data, nil
		}
	}
	if os.Getenv("GCE_METADATA_HOST") != "" || metadata.OnGCEWithContext(ctx) {
		return "", nil, nil
	}
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("look for the GCE metadata server: %w", err)
	}
	return "", nil, errors.New("no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, " +
		"there is no gcloud application default credentials file, and no metadata server answered at " +
		"169.254.169.254 (GCE_METADATA_HOST is not set); on GKE enable Workload Identity Federation for GKE " +
		"on the node pool and grant the pod's Kubernetes ServiceAccount (or the Google service account named " +
		"in its iam.gke.io/gcp-service-account annotation) access, elsewhere point GOOGLE_APPLICATION_CREDENTIALS " +
		"at a service account key or a workload identity federation configuration file")
}

// gcloudADCFile is where `gcloud auth application-default login` writes
// its credentials, looked up as the library looks it up.
func gcloudADCFile() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "gcloud", "application_default_credentials.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
}

// googleSource says where Google credentials come from, for errors: the
// credentials file, or the metadata server by its host.
func googleSource(path string) string {
	if path != "" {
		return "with the credentials in " + path
	}
	host := os.Getenv("GCE_METADATA_HOST")
	if host == "" {
		host = "169.254.169.254"
	}
	return "from the metadata server at " + host
}
