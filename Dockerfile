# The migrator's container image: a static binary on a minimal base, run as a non-root user.
#   docker build -t openreplay-migrator:dev .
# deploy/dockerfile_test.go parses this file and runs its `go build` command.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo, so no libc to match at run time), paths trimmed, symbols stripped.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/migrator ./cmd/migrator

# distroless/static: CA certificates and /etc/passwd, no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/migrator /usr/local/bin/migrator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/migrator"]
