# openreplay-migrator: `make demo` shows the main job on real local servers; `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools/bin
export GOFLAGS := -buildvcs=false
export PATH := $(TOOLS):$(PATH)

# Pinned test servers and tools, built from their Go modules into .tools/ (cached there).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c

.PHONY: all build tools test test-short demo bench chaos fuzz clean

all: build

build:
	$(GO) build -trimpath -o bin/migrator ./cmd/migrator

$(TOOLS)/minio:
	@echo "building MinIO $(MINIO_VERSION) (about 2.5 minutes, once)"
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

tools: $(TOOLS)/minio

test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

demo: tools build
	$(GO) build -o bin/seed ./tools/seed
	./scripts/demo.sh

clean:
	rm -rf bin .tools .demo
