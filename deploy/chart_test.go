package deploy

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// Key values that must reach the pods only through Secrets.
const (
	srcAccess = "SRC-ACCESS-7f3c1a"
	srcSecret = "src-secret-9b2e4d0c"
	dstAccess = "DST-ACCESS-51aa0e"
	dstSecret = "dst-secret-c4d81f77"
)

// chartCase is one set of values and what it must render.
type chartCase struct {
	name   string
	values string
	// what the rendering must hold
	mode                        string // serve, cron or copy
	shards                      int
	claim                       string   // the state claim the pods mount
	stateS3                     string   // or where the checkpoints are kept instead
	external                    []string // Secrets the pods read that the chart does not render here
	serviceMonitor, rule, board bool
	keys                        []string // key values given in values: only Secrets may hold them
}

var chartCases = []chartCase{
	{
		name: "defaults", mode: "serve", shards: 1, claim: fullname + "-state",
		// The source Secret is a copy of or-secrets made with lookup at a real install;
		// helm template has no cluster to look in.
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "cron", values: "mode: cron\nschedule: '5 * * * *'\n",
		mode: "cron", shards: 1, claim: fullname + "-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		// A bare off is YAML 1.1's false in values: the config still says off.
		name: "notifications off", values: "notifications: off\n", mode: "serve", shards: 1, claim: fullname + "-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "copy job", values: "mode: copy\n",
		mode: "copy", shards: 1, claim: fullname + "-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "shards on one node", values: "mode: copy\nshards: 4\n",
		mode: "copy", shards: 4, claim: fullname + "-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "shards on a shared claim", values: "mode: copy\nshards: 3\nstate: {accessMode: ReadWriteMany, existingClaim: migrator-state}\n",
		mode: "copy", shards: 3, claim: "migrator-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "state in a bucket, shards", values: "mode: copy\nshards: 3\nstate: {s3: s3://openreplay-migrator-state/prod}\n",
		mode: "copy", shards: 3, stateS3: "s3://openreplay-migrator-state/prod",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "state in a bucket, serve", values: "state: {s3: s3://openreplay-migrator-state}\n",
		mode: "serve", shards: 1, stateS3: "s3://openreplay-migrator-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "monitoring", values: `metrics:
  serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
  prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}
dashboard: {enabled: true, namespace: monitoring, annotations: {grafana_folder: OpenReplay}}
`,
		mode: "serve", shards: 1, claim: fullname + "-state", serviceMonitor: true, rule: true, board: true,
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "service monitor only, cron", values: "mode: cron\nmetrics: {port: 9400, serviceMonitor: {enabled: true, interval: 15s}}\n",
		mode: "cron", shards: 1, claim: fullname + "-state", serviceMonitor: true,
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
	{
		name: "keys in values", values: fmt.Sprintf(`source: {accessKey: %s, secretKey: %s}
destination:
  endpoint: http://minio.backup.svc.cluster.local:9000
  accessKey: %s
  secretKey: %s
  caConfigMap: {name: corp-ca}
allowInsecure: true
buckets: {mobs: recordings, sessions-assets: assets, sourcemaps: maps, spots: spots, quickwit: ""}
workers: 8
gracePeriodSeconds: 120
extraArgs: [--debug-addr, "127.0.0.1:6060"]
`, srcAccess, srcSecret, dstAccess, dstSecret),
		mode: "serve", shards: 1, claim: fullname + "-state",
		keys: []string{srcAccess, srcSecret, dstAccess, dstSecret},
	},
	{
		name: "existing secrets", values: `source:
  existingSecret: minio-keys
  secretKeys: {accessKey: AWS_ACCESS_KEY_ID, secretKey: AWS_SECRET_ACCESS_KEY}
destination: {existingSecret: s3-keys}
`,
		mode: "serve", shards: 1, claim: fullname + "-state",
		external: []string{"minio-keys", "s3-keys"},
	},
	{
		name: "assets route", values: "openreplay: {domain: openreplay.example.com}\n",
		mode: "serve", shards: 1, claim: fullname + "-state",
		external: []string{fullname + "-source", "openreplay-migrator-destination"},
	},
}

func TestChartLint(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := runHelm(t, "lint", "--strict", chartDir, "--namespace", namespace, "-f", valuesFile(t, c.values))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

func TestChartRenders(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := render(t, c.values)
			pods := workloads(t, m)
			if len(pods) != 1 || pods[0].component != c.mode {
				t.Fatalf("mode %s: rendered %v", c.mode, pods)
			}
			w := pods[0]
			cfg := checkPod(t, m, c, w)
			checkMode(t, m, c, w, cfg)
			checkService(t, m, c, w)
			checkMonitoring(t, m, c)
			checkKeysOnlyInSecrets(t, m, c)
		})
	}
}

// workload is the pod template of a Job, CronJob or Deployment.
type workload struct {
	kind, name, component string
	pod                   corev1.PodTemplateSpec
}

func (w workload) String() string { return w.kind + "/" + w.name }

func workloads(t *testing.T, m *manifest) []workload {
	var out []workload
	for _, o := range m.Objs {
		switch v := o.Obj.(type) {
		case *batchv1.Job:
			out = append(out, workload{o.Kind, o.Name, "copy", v.Spec.Template})
		case *batchv1.CronJob:
			out = append(out, workload{o.Kind, o.Name, "cron", v.Spec.JobTemplate.Spec.Template})
		case *appsv1.Deployment:
			out = append(out, workload{o.Kind, o.Name, "serve", v.Spec.Template})
		}
	}
	return out
}

// commands are the migrator commands each mode runs.
var commands = map[string]string{"copy": "copy", "cron": "sync", "serve": "serve"}

// checkPod checks what every pod must be, and returns the configuration it loads.
func checkPod(t *testing.T, m *manifest, c chartCase, w workload) *config.Config {
	t.Helper()
	spec := w.pod.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot, runAsUser 65532, seccomp RuntimeDefault", w, psc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted; the migrator never talks to the API", w)
	}
	if _, ok := m.find("ServiceAccount", spec.ServiceAccountName); !ok {
		t.Errorf("%s: service account %q is not rendered", w, spec.ServiceAccountName)
	}
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			t.Errorf("%s: volume %s is an emptyDir; state must survive the pod", w, v.Name)
		}
	}
	if len(spec.InitContainers) != 0 || len(spec.Containers) != 1 {
		t.Fatalf("%s: want the migrator container alone, got %d init and %d containers", w, len(spec.InitContainers), len(spec.Containers))
	}
	ctr := spec.Containers[0]
	checkContainerSecurity(t, w, ctr)

	// The command line: the image's ENTRYPOINT is the binary, args are the migrator's.
	if len(ctr.Command) != 0 {
		t.Errorf("%s: command %q overrides the image's entrypoint", w, ctr.Command)
	}
	if err := cli.ParseArgs(ctr.Args); err != nil {
		t.Errorf("%s: args %q do not parse with the migrator's flags: %v", w, ctr.Args, err)
	}
	if len(ctr.Args) == 0 || ctr.Args[0] != commands[c.mode] {
		t.Errorf("%s: args %q: want the %s command", w, ctr.Args, commands[c.mode])
	}

	cfg := loadPodConfig(t, m, w, ctr)
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range ctr.VolumeMounts {
		mounts[vm.MountPath] = vm
	}
	checkState(t, m, c, w, cfg, mounts)
	if f := cfg.Destination.CAFile; f != "" {
		vm, ok := mounts[path.Dir(f)]
		if !ok || volume(t, w, vm.Name).ConfigMap == nil {
			t.Errorf("%s: destination.caFile %s is on no ConfigMap mount", w, f)
		}
	}

	// SIGTERM: the pod's grace covers the migrator's own and the checkpoint write after it.
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < cfg.GracePeriod+15*time.Second {
		t.Errorf("%s: terminationGracePeriodSeconds is short of gracePeriod %s plus a margin for the checkpoint", w, cfg.GracePeriod)
	}

	checkEnv(t, m, c, w, ctr)

	// Metrics: the flag's port is the container's named port.
	addr := flagValue(ctr.Args, "metrics-addr")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: --metrics-addr %q: %v", w, addr, err)
	}
	if p := containerPort(ctr, "metrics"); strconv.Itoa(int(p)) != port {
		t.Errorf("%s: --metrics-addr %s, container port metrics %d", w, addr, p)
	}
	return cfg
}

// checkState checks where the pod keeps its checkpoints: on the claim the case names,
// or in the bucket, with no volume at all.
func checkState(t *testing.T, m *manifest, c chartCase, w workload, cfg *config.Config, mounts map[string]corev1.VolumeMount) {
	t.Helper()
	if c.stateS3 != "" {
		// No volume: a pod rescheduled anywhere resumes from the bucket.
		if bucket, _, ok := cfg.StateLocation(); cfg.StateS3 != c.stateS3 || !ok || bucket == "" {
			t.Errorf("%s: config stateS3 %q: want %q", w, cfg.StateS3, c.stateS3)
		}
		if _, ok := mounts[cfg.StateDir]; ok || len(m.all("PersistentVolumeClaim")) != 0 {
			t.Errorf("%s: checkpoints go to %s, yet a state volume is mounted or a claim rendered", w, c.stateS3)
		}
		if a := w.pod.Spec.Affinity; a != nil && a.PodAffinity != nil {
			t.Errorf("%s: shards are kept on one node with no volume to share", w)
		}
		return
	}
	if cfg.StateS3 != "" {
		t.Errorf("%s: stateS3 %q set with no state.s3 value", w, cfg.StateS3)
	}
	state, ok := mounts[cfg.StateDir]
	if !ok || state.ReadOnly {
		t.Fatalf("%s: stateDir %s is not a writable mount (mounts %v)", w, cfg.StateDir, mounts)
	}
	vol := volume(t, w, state.Name)
	if vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != c.claim {
		t.Errorf("%s: stateDir volume %+v: want claim %s", w, vol.VolumeSource, c.claim)
	}
	if c.claim == fullname+"-state" {
		o, ok := m.find("PersistentVolumeClaim", c.claim)
		if !ok {
			t.Fatalf("claim %s is not rendered", c.claim)
		}
		pvc := o.Obj.(*corev1.PersistentVolumeClaim)
		if pvc.Spec.Resources.Requests.Storage().IsZero() {
			t.Errorf("claim %s requests no storage", c.claim)
		}
	} else if len(m.all("PersistentVolumeClaim")) != 0 {
		t.Errorf("existingClaim %s given, and the chart renders a claim too", c.claim)
	}
}

func checkContainerSecurity(t *testing.T, w workload, ctr corev1.Container) {
	t.Helper()
	sc := ctr.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: container %s has no securityContext", w, ctr.Name)
		return
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: container %s: root filesystem is writable", w, ctr.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: container %s may escalate privileges", w, ctr.Name)
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("%s: container %s is privileged", w, ctr.Name)
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0:
		t.Errorf("%s: container %s capabilities %+v: want all dropped, none added", w, ctr.Name, sc.Capabilities)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("%s: container %s may run as root", w, ctr.Name)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := ctr.Resources.Requests[res], ctr.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: container %s %s request %s, limit %s: want both, request <= limit", w, ctr.Name, res, req.String(), lim.String())
		}
	}
}

// loadPodConfig reads the config file the pod's --config names, from the ConfigMap
// mounted there, with the migrator's own strict loader, and validates it.
func loadPodConfig(t *testing.T, m *manifest, w workload, ctr corev1.Container) *config.Config {
	t.Helper()
	p := flagValue(ctr.Args, "config")
	if p == "" {
		t.Fatalf("%s: no --config in %q", w, ctr.Args)
	}
	var data string
	for _, vm := range ctr.VolumeMounts {
		key := ""
		switch {
		case vm.SubPath != "" && vm.MountPath == p:
			key = vm.SubPath
		case vm.SubPath == "" && vm.MountPath == path.Dir(p):
			key = path.Base(p)
		default:
			continue
		}
		v := volume(t, w, vm.Name)
		if v.ConfigMap == nil {
			t.Fatalf("%s: --config %s is on volume %s, not a ConfigMap", w, p, vm.Name)
		}
		o, ok := m.find("ConfigMap", v.ConfigMap.Name)
		if !ok {
			t.Fatalf("%s: ConfigMap %s is not rendered", w, v.ConfigMap.Name)
		}
		data, ok = o.Obj.(*corev1.ConfigMap).Data[key]
		if !ok {
			t.Fatalf("%s: ConfigMap %s has no key %s", w, v.ConfigMap.Name, key)
		}
	}
	if data == "" {
		t.Fatalf("%s: --config %s is on no mount", w, p)
	}
	f := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	// The Secrets' values, as the pod's environment gives them.
	env := map[string]string{
		config.EnvSourceAccessKey: "a", config.EnvSourceSecretKey: "b",
		config.EnvDestAccessKey: "c", config.EnvDestSecretKey: "d",
	}
	cfg, err := config.Load(f, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: the rendered config does not load: %v\n%s", w, err, data)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: the rendered config is not valid: %v\n%s", w, err, data)
	}
	return cfg
}

// checkEnv: keys come from Secrets only, each Secret exists (rendered, or one the user
// provides) with the key asked for.
func checkEnv(t *testing.T, m *manifest, c chartCase, w workload, ctr corev1.Container) {
	t.Helper()
	want := []string{config.EnvSourceAccessKey, config.EnvSourceSecretKey, config.EnvDestAccessKey, config.EnvDestSecretKey}
	for _, e := range ctr.Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			want = slices.DeleteFunc(want, func(n string) bool { return n == e.Name })
			name, key := ref.SecretKeyRef.Name, ref.SecretKeyRef.Key
			if o, ok := m.find("Secret", name); ok {
				if _, ok := o.Obj.(*corev1.Secret).Data[key]; !ok {
					t.Errorf("%s: env %s reads key %s that Secret %s does not have", w, e.Name, key, name)
				}
			} else if !slices.Contains(c.external, name) {
				t.Errorf("%s: env %s reads Secret %s, which is neither rendered nor expected from the user", w, e.Name, name)
			}
			continue
		}
		if e.ValueFrom != nil {
			t.Errorf("%s: env %s comes from %+v", w, e.Name, e.ValueFrom)
		}
		if slices.Contains([]string{config.EnvSourceAccessKey, config.EnvSourceSecretKey, config.EnvDestAccessKey, config.EnvDestSecretKey}, e.Name) {
			t.Errorf("%s: env %s has a literal value; keys come from Secrets", w, e.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("%s: env %v not set from Secrets", w, want)
	}
}

func checkMode(t *testing.T, m *manifest, c chartCase, w workload, cfg *config.Config) {
	t.Helper()
	if want := map[bool]string{true: config.NotificationsOff, false: config.NotificationsAuto}[strings.Contains(c.values, "notifications: off")]; cfg.Notifications != want {
		t.Errorf("%s: config notifications %q; want %q", w, cfg.Notifications, want)
	}
	ctr := w.pod.Spec.Containers[0]
	shardsEnv := envValue(ctr, "MIGRATOR_SHARDS")
	switch c.mode {
	case "copy":
		job := m.one(t, "Job").Obj.(*batchv1.Job)
		if w.pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("copy Job restartPolicy %s: want Never (podFailurePolicy needs it)", w.pod.Spec.RestartPolicy)
		}
		checkFailurePolicy(t, job)
		if c.shards == 1 {
			if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion || shardsEnv != "" {
				t.Errorf("one shard, yet an Indexed Job (%v) or MIGRATOR_SHARDS=%q", job.Spec.CompletionMode, shardsEnv)
			}
			return
		}
		n := int32(c.shards)
		if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion ||
			job.Spec.Completions == nil || *job.Spec.Completions != n || job.Spec.Parallelism == nil || *job.Spec.Parallelism != n {
			t.Fatalf("shards %d: Job completionMode %v, completions %v, parallelism %v: want Indexed, %d, %d",
				c.shards, job.Spec.CompletionMode, job.Spec.Completions, job.Spec.Parallelism, n, n)
		}
		if shardsEnv != strconv.Itoa(c.shards) {
			t.Fatalf("shards %d: MIGRATOR_SHARDS=%q", c.shards, shardsEnv)
		}
		if flagValue(ctr.Args, "shard") != "" {
			t.Errorf("--shard in args overrides JOB_COMPLETION_INDEX")
		}
		// Each index the Job controller gives ($JOB_COMPLETION_INDEX) is a valid shard,
		// and together they cover every key once.
		owners := map[string]int{}
		for i := range c.shards {
			s, err := copy.ParseShard(fmt.Sprintf("%d/%s", i, shardsEnv))
			if err != nil {
				t.Fatalf("index %d: %v", i, err)
			}
			for k := range 200 {
				if key := fmt.Sprintf("%d/dom.mobs", 7000000000000000+k); s.Owns(key) {
					owners[key]++
				}
			}
		}
		for k := range 200 {
			if key := fmt.Sprintf("%d/dom.mobs", 7000000000000000+k); owners[key] != 1 {
				t.Errorf("key %s is owned by %d shards", key, owners[key])
			}
		}
		aff := w.pod.Spec.Affinity
		together := aff != nil && aff.PodAffinity != nil && len(aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 1 &&
			aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey == "kubernetes.io/hostname"
		if rwo := c.stateS3 == "" && !strings.Contains(c.values, "ReadWriteMany"); rwo != together {
			t.Errorf("shards on a ReadWriteOnce claim must share a node, and only then: affinity %+v", aff)
		}
		if together {
			sel := aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector
			if !labels.SelectorFromSet(sel.MatchLabels).Matches(labels.Set(w.pod.Labels)) {
				t.Errorf("pod affinity %v does not select the shards' own labels %v", sel.MatchLabels, w.pod.Labels)
			}
		}
	case "serve":
		d := m.one(t, "Deployment").Obj.(*appsv1.Deployment)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("Deployment replicas %v, strategy %s: want 1, Recreate (one syncing process at a time)", d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(w.pod.Labels)) {
			t.Errorf("Deployment selector %v does not match its pods %v", d.Spec.Selector.MatchLabels, w.pod.Labels)
		}
		for name, p := range map[string]*corev1.Probe{"liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "metrics" {
				t.Errorf("serve %s probe %+v: want an HTTP probe on the metrics port", name, p)
			}
		}
		if shardsEnv != "" {
			t.Errorf("serve with MIGRATOR_SHARDS=%s", shardsEnv)
		}
	case "cron":
		cj := m.one(t, "CronJob").Obj.(*batchv1.CronJob)
		if cj.Spec.Schedule != cfg.Schedule {
			t.Errorf("CronJob schedule %q, config schedule %q", cj.Spec.Schedule, cfg.Schedule)
		}
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("CronJob concurrencyPolicy %s: two syncs would write the same checkpoints", cj.Spec.ConcurrencyPolicy)
		}
		if shardsEnv != "" {
			t.Errorf("cron with MIGRATOR_SHARDS=%s", shardsEnv)
		}
	}
}

// checkFailurePolicy: bad configuration (exit 2) fails the Job at once; eviction is no failure.
func checkFailurePolicy(t *testing.T, job *batchv1.Job) {
	t.Helper()
	var exit2, disruption bool
	if job.Spec.PodFailurePolicy != nil {
		for _, r := range job.Spec.PodFailurePolicy.Rules {
			if r.Action == batchv1.PodFailurePolicyActionFailJob && r.OnExitCodes != nil &&
				r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(r.OnExitCodes.Values, cli.ExitUsage) {
				exit2 = true
			}
			if r.Action == batchv1.PodFailurePolicyActionIgnore && len(r.OnPodConditions) == 1 && r.OnPodConditions[0].Type == corev1.DisruptionTarget {
				disruption = true
			}
		}
	}
	if !exit2 || !disruption {
		t.Errorf("Job podFailurePolicy %+v: want FailJob on exit %d and Ignore on DisruptionTarget", job.Spec.PodFailurePolicy, cli.ExitUsage)
	}
}

func checkService(t *testing.T, m *manifest, c chartCase, w workload) {
	t.Helper()
	svc := m.one(t, "Service").Obj.(*corev1.Service)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.pod.Labels)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, w.pod.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("Service ports %+v: want one, metrics -> the pods' metrics port", svc.Spec.Ports)
	}
}

func checkMonitoring(t *testing.T, m *manifest, c chartCase) {
	t.Helper()
	sms := m.all("ServiceMonitor")
	if c.serviceMonitor != (len(sms) == 1) {
		t.Fatalf("serviceMonitor %v, rendered %d", c.serviceMonitor, len(sms))
	}
	if c.serviceMonitor {
		sm := sms[0].Obj.(*monitoringv1.ServiceMonitor)
		svc := m.one(t, "Service").Obj.(*corev1.Service)
		if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svc.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
		}
		if strings.Contains(c.values, "release: kube-prometheus-stack") && sm.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("ServiceMonitor labels %v lack the ones values give", sm.Labels)
		}
	}

	rules := m.all("PrometheusRule")
	if c.rule != (len(rules) == 1) {
		t.Fatalf("prometheusRule %v, rendered %d", c.rule, len(rules))
	}
	if c.rule {
		var want monitoringv1.PrometheusRuleSpec
		raw, err := os.ReadFile(canonicalRules)
		if err != nil {
			t.Fatal(err)
		}
		if err := strictYAML(raw, &want, true); err != nil {
			t.Fatalf("%s does not decode as a PrometheusRule spec: %v", canonicalRules, err)
		}
		got := rules[0].Obj.(*monitoringv1.PrometheusRule).Spec
		if len(want.Groups) == 0 || !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("PrometheusRule spec differs from %s", canonicalRules)
		}
	}

	var boards []*corev1.ConfigMap
	for _, o := range m.all("ConfigMap") {
		if cm := o.Obj.(*corev1.ConfigMap); cm.Labels["grafana_dashboard"] != "" {
			boards = append(boards, cm)
		}
	}
	if c.board != (len(boards) == 1) {
		t.Fatalf("dashboard %v, rendered %d ConfigMaps labelled grafana_dashboard", c.board, len(boards))
	}
	if c.board {
		cm := boards[0]
		want, err := os.ReadFile(canonicalDashboard)
		if err != nil {
			t.Fatal(err)
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" || cm.Annotations["grafana_folder"] != "OpenReplay" {
			t.Errorf("dashboard ConfigMap labels %v, namespace %q, annotations %v", cm.Labels, cm.Namespace, cm.Annotations)
		}
		if got := cm.Data["openreplay-migrator.json"]; strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
			t.Errorf("dashboard ConfigMap JSON differs from %s", canonicalDashboard)
		}
	}
}

// checkKeysOnlyInSecrets: a key given in values is in a Secret's data and nowhere else
// in the rendering, neither plain nor base64.
func checkKeysOnlyInSecrets(t *testing.T, m *manifest, c chartCase) {
	t.Helper()
	var secrets strings.Builder
	for _, o := range m.Objs {
		if o.Kind == "Secret" {
			for _, v := range o.Obj.(*corev1.Secret).Data {
				secrets.Write(v)
				secrets.WriteByte('\n')
			}
			continue
		}
		for _, k := range c.keys {
			if strings.Contains(o.YAML, k) || strings.Contains(o.YAML, base64.StdEncoding.EncodeToString([]byte(k))) {
				t.Errorf("key %q appears in %s %s", k, o.Kind, o.Name)
			}
		}
	}
	for _, k := range c.keys {
		if !strings.Contains(secrets.String(), k) {
			t.Errorf("key %q given in values is in no Secret", k)
		}
	}
}

func volume(t *testing.T, w workload, name string) corev1.Volume {
	t.Helper()
	for _, v := range w.pod.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s: no volume %s", w, name)
	return corev1.Volume{}
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// flagValue finds --name value or --name=value in args that cli.ParseArgs accepted.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// Values the chart must refuse, and the words its refusal must hold.
func TestChartRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ name, values, want string }{
		{"unknown mode", "mode: sync\n", "mode"},
		{"misspelt key", "shard: 3\n", "shard"},
		{"zero shards", "shards: 0\n", "shards"},
		{"half a source key", "source: {accessKey: AKIA}\n", "source.accessKey and source.secretKey go together"},
		{"half a destination key", "destination: {secretKey: s}\n", "destination.accessKey and destination.secretKey go together"},
		{"no destination keys", "destination: {existingSecret: \"\"}\n", "destination keys"},
		{"emptyDir-like state", "state: {accessMode: ReadOnlyMany}\n", "accessMode"},
		{"state location not s3://", "state: {s3: \"migrator-state/prod\"}\n", "/state/s3"},
		{"endpoint with a path", "destination: {endpoint: \"https://s3.example.com/bucket\"}\n", "endpoint"},
		{"notifications on", "notifications: on\n", "/notifications"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := runHelm(t, "template", release, chartDir, "-f", valuesFile(t, c.values))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a refusal naming %q, got %v", c.want, err)
			}
		})
	}
}
