# openreplay-migrator: `make demo` shows the main job on real local servers; `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools/bin
export GOFLAGS := -buildvcs=false
export PATH := $(TOOLS):$(PATH)

# Pinned test servers and tools, built from their Go modules into .tools/ (cached there).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c

.PHONY: all build tools system-tools test test-short demo bench chaos fuzz clean

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

test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

demo: tools build
	$(GO) build -o bin/seed ./tools/seed
	./scripts/demo.sh

clean:
	rm -rf bin .tools .demo
