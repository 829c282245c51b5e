# Debian's nginx: a reverse proxy in front of a registry for sync's tests
# (client_max_body_size, the reason hosts[].maxChunkSize exists, and
# limit_rate to slow a copy down) and a static server for redirected blobs.
# The tests run it as their own single process (internal/testenv/nginx.go).

DEFAULT_PEERS+=(nginx)
APT_PACKAGES+=(nginx)

peer_nginx() {
  apt_install
}
