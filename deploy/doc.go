// Package deploy holds the tests of what ships beside the binary: the Helm chart in
// helm/openreplay-migrator (rendered with the pinned helm, decoded strictly into the
// Kubernetes API types, its command lines parsed by the migrator's own flag parser) and
// the Dockerfile at the repository root.
package deploy
