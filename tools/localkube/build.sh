#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kwok,
# CoreDNS and crictl from their Go modules at the versions pinned in versions.env, once, into a
# cache folder outside the repo.
# Usage: build.sh              -> builds what is missing, prints the bin folder on success
#        build.sh --print-dir  -> prints the bin folder without building
# A full build records its wall-clock seconds in logs/build-seconds (read by `localkube.py bench`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache_root=${LOCALKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/statefuldb-localkube}
dest="$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bin="$dest/bin"
if [ "${1:-}" = "--print-dir" ]; then echo "$bin"; exit 0; fi
want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kwok coredns crictl)
# CoreDNS and crictl are pinned apart from the folder name: a stamp says which version is built.
extras_stamp="coredns-$COREDNS_VERSION crictl-$CRICTL_VERSION"
if [ "$(cat "$dest/extras.version" 2>/dev/null)" != "$extras_stamp" ]; then rm -f "$bin/coredns" "$bin/crictl"; fi
have_all=1
for b in "${want[@]}"; do [ -x "$bin/$b" ] || have_all=0; done
[ -f "$dest/kustomize/stage/pod/fast/pod-ready.yaml" ] || have_all=0
if [ "$have_all" = 1 ]; then echo "$bin"; exit 0; fi

# kwok v0.8.0 declares go 1.26.0; Kubernetes v1.35 needs 1.25.
command -v go >/dev/null 2>&1 || {
  echo "localkube: no Go toolchain on PATH. Install Go 1.26 or newer (from go.dev; Debian's golang-go may be older)." >&2
  exit 2
}
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 26 ] 2>/dev/null; then
  echo "localkube: $(go env GOVERSION) is too old; kwok $KWOK_VERSION needs Go 1.26 or newer (go.dev/dl)." >&2
  exit 2
fi

mkdir -p "$bin" "$dest/src/kube" "$dest/src/etcd" "$dest/logs"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log="$dest/logs/build.log"
: >"$log"
build_started=$(date +%s)

fail() {
  echo "localkube: building $1 failed; the last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)

# Kubernetes: a wrapper module, because k8s.io/kubernetes requires its staging modules as v0.0.0.
(
  cd "$dest/src/kube"
  {
    echo "module statefuldb.local/localkube/kube"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    for m in "${staging[@]}"; do echo "replace k8s.io/$m => k8s.io/$m $KUBERNETES_STAGING_VERSION"; done
  } >go.mod
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  # tidy only when a binary is missing: it is slow-ish and the module set rarely changes
  need_kube=0
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet; do [ -x "$bin/$c" ] || need_kube=1; done
  if [ "$need_kube" = 1 ]; then go mod tidy -e >>"$log" 2>&1 || fail "the Kubernetes wrapper module (go mod tidy)"; fi
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION#v1.}"
  ldflags="${ldflags%.*}"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet; do
    [ -x "$bin/$c" ] && continue
    echo "localkube: building $c $KUBERNETES_VERSION ..." >&2
    go build -tags selinux,notest -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c" >>"$log" 2>&1 || fail "$c"
    mv "$bin/$c.tmp" "$bin/$c"
  done
)

# etcd: the server module's root package is main; go install refuses it for its replace lines.
if [ ! -x "$bin/etcd" ]; then
  (
    cd "$dest/src/etcd"
    printf 'module statefuldb.local/localkube/etcd\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go mod tidy -e >>"$log" 2>&1 || fail "the etcd wrapper module (go mod tidy)"
    echo "localkube: building etcd $ETCD_VERSION ..." >&2
    go build -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 >>"$log" 2>&1 || fail etcd
    mv "$bin/etcd.tmp" "$bin/etcd"
  )
fi

if [ ! -x "$bin/kwok" ]; then
  echo "localkube: building kwok $KWOK_VERSION ..." >&2
  GOBIN="$bin" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >>"$log" 2>&1 || fail kwok
fi
if [ ! -f "$dest/kustomize/stage/pod/fast/pod-ready.yaml" ]; then
  # The stage definitions ship inside the module; keep the pinned copy next to the binary.
  go mod download "sigs.k8s.io/kwok@$KWOK_VERSION" >>"$log" 2>&1 || fail "kwok module download"
  moddir=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION
  rm -rf "$dest/kustomize" && cp -r "$moddir/kustomize" "$dest/kustomize" && chmod -R u+w "$dest/kustomize"
fi
# CoreDNS as a library with only the plugins the cluster uses: a fraction of the full build.
if [ ! -x "$bin/coredns" ]; then
  (
    mkdir -p "$dest/src/coredns"
    cd "$dest/src/coredns"
    printf 'module statefuldb.local/localkube/coredns\n\ngo 1.25.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >go.mod
    cat >main.go <<'GO'
// CoreDNS with only the plugins the local cluster's DNS needs (see coredns.py).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	// The order in which plugins see a query (a subset of CoreDNS's own plugin.cfg order).
	dnsserver.Directives = []string{"bind", "ready", "health", "errors", "kubernetes"}
	coremain.Run()
}
GO
    go mod tidy -e >>"$log" 2>&1 || fail "the CoreDNS wrapper module (go mod tidy)"
    echo "localkube: building coredns $COREDNS_VERSION ..." >&2
    go build -ldflags "-s -w" -o "$bin/coredns.tmp" . >>"$log" 2>&1 || fail coredns
    mv "$bin/coredns.tmp" "$bin/coredns"
  )
fi
if [ ! -x "$bin/crictl" ]; then
  echo "localkube: building crictl $CRICTL_VERSION ..." >&2
  GOBIN="$bin" go install -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" >>"$log" 2>&1 || fail crictl
fi
echo "$extras_stamp" >"$dest/extras.version"
echo $(($(date +%s) - build_started)) >"$dest/logs/build-seconds"
echo "$bin"
