# openreplay-migrator: `make demo` shows the main job on real local servers; `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools/bin
export GOFLAGS := -buildvcs=false
export PATH := $(TOOLS):$(PATH)

# Pinned test servers and tools, built from their Go modules into .tools/ (cached there).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c

.PHONY: all build tools system-tools test test-short demo bench bench-scale chaos fuzz clean

all: build

build:
	$(GO) build -trimpath -o bin/migrator ./cmd/migrator

$(TOOLS)/minio:
	@echo "building MinIO $(MINIO_VERSION) (about 2.5 minutes, once)"
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

# Debian packages the tests use: a real Prometheus (and promtool) for the dashboard test.
system-tools:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
	  echo "installing Debian's prometheus package (for the dashboard test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }

tools: $(TOOLS)/minio system-tools

# S3 servers that are not MinIO, for the tests that prove the migrator keeps to plain S3
# calls (docs/stores.md). versitygw installs like MinIO.
VERSITYGW_VERSION := v1.8.0
$(TOOLS)/versitygw:
	@echo "building versitygw $(VERSITYGW_VERSION) (a few minutes, once)"
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
# SeaweedFS's go.mod has a replace directive, so `go install` refuses it: it is built inside
# a writable copy of its downloaded module (about 4 minutes on an idle machine with a cold
# Go build cache, a 233 MB binary, once). The store tests use it (docs/stores.md).
SEAWEEDFS_VERSION := v0.0.0-20261109003541-7506e5f91cd6
$(TOOLS)/weed:
	@echo "building SeaweedFS $(SEAWEEDFS_VERSION) (about 4 minutes, once)"
	@set -e; dir=$$($(GO) mod download -json github.com/seaweedfs/seaweedfs@$(SEAWEEDFS_VERSION) \
	  | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); test -n "$$dir"; \
	tmp=$$(mktemp -d); trap 'chmod -R u+w "$$tmp"; rm -rf "$$tmp"' EXIT; \
	cp -r "$$dir/." "$$tmp/"; chmod -R u+w "$$tmp"; mkdir -p $(TOOLS); \
	cd "$$tmp" && $(GO) build -trimpath -o $(TOOLS)/weed.tmp ./weed && mv $(TOOLS)/weed.tmp $(TOOLS)/weed
tools: $(TOOLS)/versitygw $(TOOLS)/weed

test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

# Only what the demo runs: MinIO and the migrator's own binaries (no root, no Prometheus, no Helm).
demo: $(TOOLS)/minio build
	$(GO) build -trimpath -o bin/seed ./tools/seed
	./scripts/demo.sh

clean:
	rm -rf bin .tools .demo

# The status page in Debian's Chromium, as an operator would see it; screenshots go to
# test-output/. Then old recordings' assets across a cutover: Debian's nginx as
# OpenReplay's Ingress, then with the block `migrator assets-route` prints, and Chromium
# rendering an old page's styles and fonts. E2E_REQUIRED makes these tests fail, not
# skip, when Chromium or nginx is missing (`make test` skips them then).
.PHONY: e2e
e2e: tools
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium package (for the browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/sbin/nginx || { \
	  echo "installing Debian's nginx-light package (for the assets route's tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
	E2E_REQUIRED=1 $(GO) test -count=1 -timeout 10m -v -run '^TestStatusPageInBrowser$$' ./pkg/statuspage
	E2E_REQUIRED=1 $(GO) test -count=1 -timeout 10m -v -run '^TestNginxBlock|^TestProbe' ./pkg/assetsroute
	E2E_REQUIRED=1 $(GO) test -count=1 -timeout 10m -v -run '^TestCutover(KeepsOldAssetURLs|RequiringTheAssetsRouteRollsBack)$$' ./cmd/migrator

# Helm at a pinned version, for the chart's tests (deploy/).
HELM_VERSION := v3.22.0
.PHONY: helm-lint chart-files
$(TOOLS)/helm:
	@echo "building helm $(HELM_VERSION) (a few minutes, once)"
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
tools: $(TOOLS)/helm
helm-lint: $(TOOLS)/helm
	$(TOOLS)/helm lint --strict deploy/helm/openreplay-migrator
# Helm reads only files inside a chart: it carries copies of the dashboard and the alert
# rules, and deploy/chartfiles_test.go fails until they are copied again after a change.
chart-files:
	cp dashboards/openreplay-migrator.json deploy/alerts/openreplay-migrator.rules.yaml deploy/helm/openreplay-migrator/files/

# The fault suite at full length (20 SIGKILLs, more data, longer faults); `make test`
# runs the short version. The per-scenario table goes to bin/chaos-table.md (docs/testing.md
# shows one). Needs root for the full-disk scenario (a tmpfs mount).
chaos: $(TOOLS)/minio
	@mkdir -p bin
	MIGRATOR_CHAOS=full MIGRATOR_CHAOS_TABLE=$(CURDIR)/bin/chaos-table.md \
	  $(GO) test -count=1 -timeout 60m -v -run '^Test(Chaos|Security)' ./cmd/migrator
	@cat bin/chaos-table.md

# Each fuzz target for FUZZTIME (seed corpora alone run in `make test`): a count of
# inputs, not a duration. With a duration, Go 1.26's fuzzer can fail a target with a bare
# "context deadline exceeded" when the time runs out under load (go.dev/issue/75804, fixed
# in Go 1.27); a count has no deadline to race.
FUZZTIME ?= 100000x
FUZZ_TARGETS := pkg/config:FuzzParse pkg/checkpoint:FuzzDecode pkg/checkpoint:FuzzETagMap \
  pkg/s3:FuzzContentRange pkg/s3:FuzzListPage pkg/copy:FuzzETagParts pkg/copy:FuzzShard pkg/copy:FuzzJoin \
  pkg/openreplay:FuzzParseStorage pkg/openreplay:FuzzEditStorage
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -parallel 1 ./$${t%%:*}; \
	done

# Source PUT to destination under `serve` by bucket notifications alone (issue 18, 4(c)):
# p50/p99 and peak RSS into bench/results.md. Not part of `make test`.
.PHONY: bench-notify
bench-notify: $(TOOLS)/minio
	./scripts/bench_notify.sh

# The migrator against a bare GET->PUT loop (tools/baseline) on two local MinIO servers:
# speed, peak RSS, requests per object, a re-run with nothing to copy, resume after
# kill -9, the baseline against itself (the machine's noise floor), a wide-area link
# (scripts/bench_wan.sh: 20/80 ms, HTTP/TLS; BENCH_WAN=off skips it), and the merge-join
# at 1M keys. About 30 minutes; writes bench/results.md (bench/README.md
# quotes it). BENCH_SETS="mixed tiny" picks data sets, BENCH_PAIRS=8 the number of
# back-to-back migrator/baseline pairs per set, BENCH_NOISE_PAIRS=4 the baseline/baseline ones.
bench: $(TOOLS)/minio
	./scripts/bench.sh

# Listing at scale (issue 18): one million small recordings seeded once into a cached
# MinIO data folder (.bench-scale-cache/, resumable), then a no-op sync with 1, 4 and 16
# listing ranges on loopback and behind a 40 ms link, and shards 1, 4, 8 at once against
# one listing, then notification lag under serve (scripts/bench_notify.sh). Not part of
# `make test`. BENCH_SCALE_OBJECTS=100000 runs smaller.
bench-scale: $(TOOLS)/minio
	./scripts/bench_scale.sh

# The chart in a real Kubernetes API server: etcd, kube-apiserver and kube-controller-manager
# on loopback (no scheduler, no kubelet: pods stay Pending). Built once from their Go modules
# by tools/k8s/build.sh (a throwaway wrapper module; see there why); deploy/kube_test.go
# installs, upgrades and uninstalls the chart there. `go test ./deploy` runs it too once the
# binaries exist (under CI=true it fails without them).
KUBERNETES_VERSION := v1.34.4
ETCD_VERSION := v3.6.16
.PHONY: k8s-tools test-k8s
$(TOOLS)/etcd:
	@echo "building etcd $(ETCD_VERSION) (a few minutes, once)"
	ETCD_VERSION=$(ETCD_VERSION) ./tools/k8s/build.sh $(TOOLS) etcd
$(TOOLS)/kube-apiserver $(TOOLS)/kube-controller-manager &:
	@echo "building kube-apiserver and kube-controller-manager $(KUBERNETES_VERSION) (10-20 minutes on a busy machine, once)"
	KUBERNETES_VERSION=$(KUBERNETES_VERSION) ./tools/k8s/build.sh $(TOOLS) kube
k8s-tools: $(TOOLS)/etcd $(TOOLS)/kube-apiserver $(TOOLS)/kube-controller-manager
test-k8s: k8s-tools $(TOOLS)/helm
	CI=true $(GO) test -count=1 -timeout 20m -v -run '^TestChartOnAPIServer' ./deploy
