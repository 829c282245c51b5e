// Command flux-mirror mints short-lived container registry credentials and
// writes them into a kubernetes.io/dockerconfigjson Secret or the local
// Docker config. It is a Flux CLI plugin: "flux mirror ..." runs it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fluxcd/flux-mirror/internal/cli"
	"github.com/fluxcd/flux-mirror/internal/log"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := cli.NewRootCommand(cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		log.New(os.Stderr, false).Failuref("%s", cli.ErrorLine(cli.Interrupted(ctx, err)))
		return 1
	}
	return 0
}
