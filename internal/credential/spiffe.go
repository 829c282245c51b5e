package credential

import (
	"context"
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fromJWTSVID fetches a SPIFFE JWT-SVID for req.aud from the Workload API
// whose address is in $SPIFFE_ENDPOINT_SOCKET.
//
// The client lives for this one call. The Workload API is gRPC: the dial
// does not block, and the fetch is bound by ctx, so a dead or silent socket
// ends with ctx at the latest.
func fromJWTSVID(ctx context.Context, req tokenRequest) (token, error) {
	const errPrefix = "credential.provider jwt-svid"
	addr := os.Getenv(workloadapi.SocketEnv)
	if addr == "" {
		return token{}, fmt.Errorf("%s: %s is not set: point it at the SPIFFE Workload API socket "+
			"(for example unix:///spiffe-workload-api/spire-agent.sock, with the socket mounted into "+
			"the pod by the SPIFFE CSI driver, csi.spiffe.io)", errPrefix, workloadapi.SocketEnv)
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		return token{}, fmt.Errorf("%s: %s=%q: %w", errPrefix, workloadapi.SocketEnv, addr, err)
	}
	client, err := workloadapi.New(ctx, workloadapi.WithAddr(addr))
	if err != nil {
		return token{}, fmt.Errorf("%s: connect to the Workload API at %s: %w", errPrefix, addr, err)
	}
	defer client.Close()
	svid, err := client.FetchJWTSVID(ctx, jwtsvid.Params{Audience: req.aud, ExtraAudiences: req.audiences[1:]})
	if err != nil {
		return token{}, fmt.Errorf("%s: fetch a JWT-SVID for audience %q from the Workload API at %s: %w%s",
			errPrefix, req.aud, addr, err, workloadHint(err))
	}
	return token{value: svid.Marshal(), expiresAt: svid.Expiry}, nil
}

// workloadHint says what usually causes a failed fetch.
func workloadHint(err error) string {
	switch status.Code(err) {
	case codes.Unavailable:
		return " (is the SPIFFE agent running and its socket mounted, e.g. by the SPIFFE CSI driver?)"
	case codes.PermissionDenied:
		return " (the agent issued no identity to this workload: register an entry whose selectors match it, " +
			"or wait for a new agent to sync its entries)"
	}
	return ""
}
