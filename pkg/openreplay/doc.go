// Package openreplay reads and edits OpenReplay's vars.yaml (global.s3) without disturbing anything else.
package openreplay
