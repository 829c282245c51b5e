package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// adminUser is the user in group system:masters, allowed everything.
const adminUser = "admin"

// plainUsers are users with no permissions beyond what every authenticated
// user has (group system:authenticated); tests grant them roles.
var plainUsers = []string{"alice", "bob", "carol", "dave"}

// writeTokens gives every user a random token and writes kube-apiserver's
// static token file (token,user,uid,"groups"). The API server adds
// system:authenticated itself.
func (e *Env) writeTokens() (string, error) {
	e.tokens = make(map[string]string)
	var b strings.Builder
	for _, user := range append([]string{adminUser}, plainUsers...) {
		token := rand.Text()
		e.tokens[user] = token
		groups := ""
		if user == adminUser {
			groups = `,"system:masters"`
		}
		fmt.Fprintf(&b, "%s,%s,%s%s\n", token, user, user, groups)
	}
	path := filepath.Join(e.Dir, "tokens.csv")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// token returns user's bearer token and panics for an unknown user: that is
// a mistake in the test, not a condition to handle.
func (e *Env) token(user string) string {
	token, ok := e.tokens[user]
	if !ok {
		panic(fmt.Sprintf("testenv: unknown user %q: use %q or one of %q", user, adminUser, plainUsers))
	}
	return token
}

// Config returns a fresh rest.Config that authenticates as user: "admin"
// (group system:masters) or one of "alice", "bob", "carol" and "dave" (group
// system:authenticated only, no permissions). It panics for any other user.
func (e *Env) Config(user string) *rest.Config {
	return &rest.Config{
		Host:            e.URL,
		BearerToken:     e.token(user),
		TLSClientConfig: rest.TLSClientConfig{CAData: bytes.Clone(e.CAData)},
	}
}

// Kubeconfig writes a kubeconfig for user into a new file under Dir and
// returns its path. It holds one cluster, user and context, the context is
// current, and its namespace is namespace ("" leaves it unset). It panics for
// an unknown user, as Config does.
func (e *Env) Kubeconfig(user, namespace string) (string, error) {
	const name = "testenv"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: e.URL, CertificateAuthorityData: bytes.Clone(e.CAData)}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: e.token(user)}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: user, Namespace: namespace}
	cfg.CurrentContext = name

	f, err := os.CreateTemp(e.Dir, "kubeconfig-"+user+"-*.yaml")
	if err != nil {
		return "", fmt.Errorf("testenv: write kubeconfig: %w", err)
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("testenv: write kubeconfig: %w", err)
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("testenv: write kubeconfig: %w", err)
	}
	return path, nil
}

// ServiceAccountToken issues a token for the ServiceAccount ns/sa through the
// TokenRequest API, with the API server's default audience, creating the
// ServiceAccount if it is missing. The namespace must exist. There is no
// controller-manager, so namespaces have no "default" ServiceAccount.
func (e *Env) ServiceAccountToken(ctx context.Context, ns, sa string) (string, error) {
	cs, err := kubernetes.NewForConfig(e.Config(adminUser))
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	sas := cs.CoreV1().ServiceAccounts(ns)
	_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("testenv: create service account %s/%s: %w", ns, sa, err)
	}
	tr, err := sas.CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("testenv: request token for %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}

// WaitForAccess waits until user's RBAC rights on Secrets in ns are in
// force: the API server's authorizer learns of a new RoleBinding through a
// watch, so a request right after creating one may still be refused. It
// polls, as admin impersonating user (a plain user or
// system:serviceaccount:NS:NAME), a get of a Secret that does not exist
// until the answer is 404 rather than 403.
func (e *Env) WaitForAccess(ctx context.Context, user, ns string) error {
	const name = "testenv-access-probe"
	cfg := e.Config(adminUser)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		_, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: %s still cannot get secrets in %s: %v", user, ns, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
