// Command flux-mirror mints short-lived container registry credentials and
// writes them into a kubernetes.io/dockerconfigjson Secret or the local
// Docker config, and mirrors OCI artifacts between registries. It is a Flux
// CLI plugin: "flux mirror ..." runs it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fluxcd/flux-mirror/internal/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := cli.NewRootCommand(cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	return cli.Exit(cli.Interrupted(ctx, cmd.ExecuteContext(ctx)), os.Stderr)
}
