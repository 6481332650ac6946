#!/usr/bin/env bash
# Builds the Kubernetes control plane the chart's API-server test runs (no kubelet):
# etcd, kube-apiserver and kube-controller-manager, from their Go modules at pinned versions,
# into OUT. Neither k8s.io/kubernetes nor etcd's server module can be `go install`ed by
# version (their go.mod files replace sibling modules with local paths), so each is built
# inside a throwaway wrapper module that pins those siblings to the published versions.
# Usage: build.sh OUT [etcd|kube]...   (env: KUBERNETES_VERSION, ETCD_VERSION)
set -euo pipefail
out=${1:?usage: build.sh OUT [etcd|kube]...}; shift
mkdir -p "$out"; out=$(cd "$out" && pwd)
k8s_version=${KUBERNETES_VERSION:-v1.34.4}
etcd_version=${ETCD_VERSION:-v3.6.16}
work=$(mktemp -d "${TMPDIR:-/tmp}/k8s-tools.XXXXXX")
trap 'rm -rf "$work"' EXIT

# wrapper DIR MODULE VERSION STAGING_PREFIX STAGING_VERSION: a module that requires MODULE and
# replaces each of its go.mod's local-path replaces (`X => ./staging/...`) with X@STAGING_VERSION.
wrapper() {
  local dir=$1 module=$2 version=$3 staging_version=$4
  mkdir -p "$dir"
  local gomod
  gomod=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -n "$gomod" ] || { echo "build.sh: no go.mod for $module@$version" >&2; exit 1; }
  {
    echo "module k8s-tools-wrapper"
    echo
    echo "go 1.24"
    echo
    echo "require $module $version"
    echo
    # Both one-line (`replace X => ./p`) and block (`X => ./p` inside `replace (`) forms.
    awk -v v="$staging_version" '
      /^replace \(/ { inblock = 1; next }
      inblock && /^\)/ { inblock = 0; next }
      {
        line = $0; sub(/^[[:space:]]*(replace[[:space:]]+)?/, "", line)
        # etcd replaces some paths with ./FORBIDDEN_DEPENDENCY to forbid them: not a module.
        if ((inblock || $0 ~ /^replace /) && line ~ /=>[[:space:]]*\.\.?\// && line !~ /FORBIDDEN/) {
          split(line, f, /[[:space:]]+/); print "replace " f[1] " => " f[1] " " v
        }
      }' "$gomod"
  } > "$dir/go.mod"
  # A bare `go get PKG` would move to the newest release: every get names the version.
  (cd "$dir" && go get "$module@$version")
}

for what in "${@:-etcd kube}"; do
  for w in $what; do
    case $w in
    etcd)
      wrapper "$work/etcd" go.etcd.io/etcd/server/v3 "$etcd_version" "$etcd_version"
      (cd "$work/etcd" && go build -trimpath -o "$out/etcd" go.etcd.io/etcd/server/v3)
      ;;
    kube)
      # The staging modules (k8s.io/api, ...) are published as v0.X.Y for kubernetes v1.X.Y.
      wrapper "$work/kube" k8s.io/kubernetes "$k8s_version" "v0${k8s_version#v1}"
      (cd "$work/kube" &&
        go get "k8s.io/kubernetes/cmd/kube-apiserver@$k8s_version" \
          "k8s.io/kubernetes/cmd/kube-controller-manager@$k8s_version" &&
        go build -trimpath -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver &&
        go build -trimpath -o "$out/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager)
      ;;
    *) echo "build.sh: unknown target $w (want etcd or kube)" >&2; exit 2 ;;
    esac
  done
done
