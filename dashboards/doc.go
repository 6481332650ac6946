// Package dashboards holds the Grafana dashboard for the migrator's metrics; its tests check it against pkg/metrics.
package dashboards
