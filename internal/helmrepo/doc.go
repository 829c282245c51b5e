// Package helmrepo reads Helm chart repositories served over HTTP: the
// repository's index, its chart archives, and the credentials and TLS
// settings Helm keeps for it in its repositories file.
//
// The wire formats are Helm's (index.yaml, repositories.yaml, Chart.yaml),
// decoded into types that carry the same JSON field names as Helm's own
// (helm.sh/helm/v4/pkg/repo/v1 and pkg/chart/v2). Those packages are not
// linked into the binary: importing them links client-go's whole API
// scheme, a WebAssembly runtime and an OpenPGP stack through their
// imports, which measured +14 MB of binary and +10.5 MiB of resident
// memory on every command, `--help` included. The tests hold these types
// equal to Helm's by decoding the same files with both.
package helmrepo

import "time"

// Limits of what sync reads from a chart repository.
const (
	// MaxIndexSize bounds a repository's index.yaml.
	MaxIndexSize = 50 << 20
	// MaxChartSize bounds one chart archive.
	MaxChartSize = 100 << 20
	// RequestTimeout bounds one request, its body included.
	RequestTimeout = 60 * time.Second
	// maxChartFile bounds Chart.yaml and requirements.yaml inside an archive.
	maxChartFile = 1 << 20
)
