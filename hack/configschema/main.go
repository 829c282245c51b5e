// Command configschema writes config.schema.json, the JSON Schema of a
// config version, into the current directory, which is that version's api
// package: go generate ./api/... runs it there.
//
//	go run ./hack/configschema v1beta2   (from api/v1beta2)
package main

import (
	"fmt"
	"os"

	"github.com/fluxcd/flux-mirror/internal/schemagen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "✗ configschema:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, the config version (v1beta1 or v1beta2)")
	}
	spec, err := schemagen.For(args[0])
	if err != nil {
		return err
	}
	out, err := schemagen.Generate(spec, ".")
	if err != nil {
		return err
	}
	return os.WriteFile("config.schema.json", out, 0o644)
}
