package cutover

import "github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"

// MinioNotes says what minio.enabled means after the switch, given vars.yaml as it is
// (or will be) after the edit, and how the old store is removed: only ever by hand,
// through OpenReplay's databases release, once nothing needs the old store any more.
func MinioNotes(after *openreplay.Storage) []string {
	decommission := "The old store is removed only through OpenReplay's databases release (namespace db), whose minio chart has minio.enabled as its condition: " +
		"once old replays no longer need it (see docs/cutover.md), run that release's helm upgrade with this vars.yaml (minio.enabled: false). " +
		"`openreplay -R` and `openreplay -u` never upgrade that release, so until then MinIO keeps running and keeps its data; " +
		"its volume may outlive the release: delete it by hand when you are sure."
	switch {
	case !after.Minio.Declared:
		return []string{"minio.enabled is not set in vars.yaml: OpenReplay's chart default applies. " + decommission}
	case after.Minio.Enabled:
		return []string{
			"minio.enabled is still true: OpenReplay's next migration job (a version upgrade, or a helm upgrade without skipMigration) runs its bucket script " +
				"against global.s3, now the destination: it creates the nine default buckets there and makes sessions-assets public. " +
				"Run cutover with --disable-minio, or set minio.enabled: false by hand, to stop that.",
			decommission,
		}
	default:
		return []string{"minio.enabled is false: OpenReplay's migration job no longer runs its MinIO bucket script against the destination.", decommission}
	}
}

// RetentionNote says what becomes of ages and OpenReplay's deletions at the destination.
const RetentionNote = "Retention: every copied object's age at the destination starts at its copy (its source Last-Modified is kept in " +
	"x-amz-meta-openreplay-migrator-source-last-modified). Lifecycle rules count from the destination's own date, so an age rule of N days " +
	"removes a copied recording N days after the copy, not N days after it was recorded: a rule cannot subtract the source age. " +
	"`migrator preflight --retention [--expire-after DAYS]` adds the rules that carry OpenReplay's deletions (to_delete_in_days tags) over."
