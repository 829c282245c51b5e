package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with
// -ldflags "-X github.com/fluxcd/flux-mirror/internal/cli.version=v1.2.3".
var version string

// Version returns the build's version: the one set at link time, else the
// module version go install recorded, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the flux-mirror version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(o.streams.Out, "flux-mirror: %s\n", Version())
			return err
		},
	}
}
