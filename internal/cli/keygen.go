package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fluxcd/flux-mirror/internal/jwk"
)

type keygenOptions struct {
	*rootOptions

	dir     string
	keyType string
}

func newKeygenCommand(root *rootOptions) *cobra.Command {
	o := &keygenOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Write a JWK key pair for signing registry tokens with credential.jwkPath",
		Long: `Write privkey.json (mode 0600) and pubkey.json, each a JWK set holding one key
with a shared random key ID. Point a host's credential.jwkPath at privkey.json
and give pubkey.json to the registry that verifies the tokens.

Existing files are never overwritten.`,
		Example: `  flux-mirror keygen -o ./keys
  flux-mirror keygen -o ./keys --type rsa`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run() },
	}
	types := make([]string, 0, 3)
	for _, t := range jwk.KeyTypes() {
		types = append(types, string(t))
	}
	cmd.Flags().StringVarP(&o.dir, "output", "o", ".", "directory to write privkey.json and pubkey.json into")
	cmd.Flags().StringVar(&o.keyType, "type", string(jwk.Ed25519), "key type: "+strings.Join(types, ", "))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(types, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *keygenOptions) run() error {
	kt := jwk.KeyType(o.keyType)
	if !slices.Contains(jwk.KeyTypes(), kt) {
		return fmt.Errorf("--type %q: want one of %v", o.keyType, jwk.KeyTypes())
	}
	priv, pub, err := jwk.WriteKeyPair(o.dir, kt)
	if err != nil {
		return err
	}
	o.log().Successf("wrote %s (private: keep it secret) and %s (public: give it to the verifier)", priv, pub)
	return nil
}
