// Package fakecloud holds loopback stand-ins for the cloud and CI identity
// endpoints that flux-mirror's credential sources call. Each speaks the real
// wire protocol, so the product code and the official SDKs run unchanged
// against it. It is test support: only _test.go files import it.
package fakecloud
