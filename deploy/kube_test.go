package deploy

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openreplay-migrator/openreplay-migrator/internal/cli"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// The chart in a real Kubernetes API server (etcd, kube-apiserver and
// kube-controller-manager from `make test-k8s`): what `helm template` cannot show.
// Helm's lookup reads real Secrets, the server validates and defaults every object, the
// Job, Deployment and garbage-collector controllers make and remove what they own, and
// `helm.sh/resource-policy: keep` meets a real uninstall. There is no kubelet: pods are
// made and stay Pending, so what runs in them is checked as in the chart tests, by the
// migrator's own flag parser and config loader, on the objects the server stored.

// operatorValues are docs/helm.md's my-values.yaml, with Grafana in its own namespace.
const operatorValues = `image: {repository: registry.example.com/openreplay-migrator, tag: "0.1.0"}
destination: {endpoint: https://s3.eu-west-1.amazonaws.com, region: eu-west-1}
buckets:
  mobs: acme-openreplay-recordings
  sessions-assets: acme-openreplay-assets
  sourcemaps: acme-openreplay-sourcemaps
  spots: acme-openreplay-spots
  records: ""
  vault-data: ""
metrics:
  serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
  prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}
dashboard: {enabled: true, namespace: monitoring, annotations: {grafana_folder: OpenReplay}}
`

// The release's namespace, as docs/helm.md names it, and the user's destination Secret.
const (
	operatorNS  = "openreplay-migrator"
	userDstName = "openreplay-migrator-destination"
)

var (
	minioKeys = map[string]string{"access-key": minioAccess, "secret-key": minioSecret}
	dstKeys   = map[string]string{"access-key": dstAccess, "secret-key": dstSecret}
)

// settle is how long the controllers get to reconcile on a loaded 2-core machine.
const settle = 3 * time.Minute

func TestChartOnAPIServer(t *testing.T) {
	c := &cluster{Kube: testenv.StartKube(t), t: t}
	helmBinary(t)
	c.installMonitoringCRDs()
	for _, ns := range []string{namespace, "monitoring", "app", "db", operatorNS} {
		c.namespace(ns)
	}

	t.Run("every value set the chart tests render is accepted", func(t *testing.T) { acceptsEveryCase(t, c.on(t)) })

	// OpenReplay's side: its or-secrets holds the store's key, as does the store's own Secret.
	c.putSecret("app", "or-secrets", minioKeys)
	c.putSecret("db", "minio", minioKeys)
	// docs/helm.md: the destination Secret first, then the install.
	c.putSecret(operatorNS, userDstName, dstKeys)
	steps := []struct {
		name string
		run  func(t *testing.T, c *cluster)
	}{
		{"install beside OpenReplay", installBesideOpenReplay},
		{"upgrade after the cutover keeps the source key", upgradeAfterCutover},
		{"install after the cutover takes the store's own key", installAfterCutover},
		{"serve, copy with shards, serve: one workload each time", switchModes},
		{"uninstall keeps the state volume and the user's Secrets only", uninstall},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.run(t, c.on(t)) }) {
			return // each step starts from where the one before left the release
		}
	}
}

// acceptsEveryCase creates every object of every chart test case with a server-side dry
// run and strict field validation, then runs the chart tests' checks on the objects as
// the server would store them.
func acceptsEveryCase(t *testing.T, c *cluster) {
	for _, cc := range chartCases {
		t.Run(cc.name, func(t *testing.T) {
			t.Parallel()
			c := c.on(t)
			rendered := render(t, cc.values)
			admitted := &manifest{}
			for _, o := range rendered.Objs {
				data, err := c.dryRunCreate(namespace, o)
				if err != nil {
					t.Fatal(err)
				}
				obj := apiTypes[objectKey(t, data)]()
				if err := json.Unmarshal(data, obj); err != nil {
					t.Fatal(err)
				}
				admitted.Objs = append(admitted.Objs, object{Kind: o.Kind, Name: o.Name, YAML: string(data), Obj: obj})
			}
			checkRelease(t, admitted, cc)
		})
	}
}

func objectKey(t *testing.T, data []byte) string {
	var head struct{ APIVersion, Kind string }
	if err := json.Unmarshal(data, &head); err != nil {
		t.Fatal(err)
	}
	return head.APIVersion + "/" + head.Kind
}

// checkRelease runs the chart tests' checks of one case on m, and returns the
// configuration its pod loads.
func checkRelease(t *testing.T, m *manifest, cc chartCase) *config.Config {
	t.Helper()
	pods := workloads(t, m)
	if len(pods) != 1 || pods[0].component != cc.mode {
		t.Fatalf("mode %s: the server holds %v", cc.mode, pods)
	}
	cfg := checkPod(t, m, cc, pods[0])
	checkMode(t, m, cc, pods[0], cfg)
	checkService(t, m, cc, pods[0])
	checkMonitoring(t, m, cc)
	checkKeysOnlyInSecrets(t, m, cc)
	return cfg
}

// operatorCase is what the operator's release must hold in mode (with extra values).
func operatorCase(mode string, shards int, extra string) chartCase {
	return chartCase{
		values: operatorValues + extra, mode: mode, shards: shards, claim: fullname + "-state",
		external: []string{userDstName}, serviceMonitor: true, rule: true, board: true,
		keys: []string{minioAccess, minioSecret},
	}
}

func installBesideOpenReplay(t *testing.T, c *cluster) {
	c.mustHelm("install", release, chartDir, "-n", operatorNS, "-f", valuesFile(t, operatorValues))
	checkSourceKeys(t, c, operatorNS, minioKeys, "app/or-secrets")
	checkRelease(t, c.stored(release, operatorNS, "monitoring"), operatorCase("serve", 1, ""))

	// The Deployment controller makes a ReplicaSet, that one a pod; each Secret the pod
	// reads its keys from is there with the key it names (what a kubelet would resolve).
	pods := waitWorkloads(t, c, "Deployment", 1)
	checkPodSecrets(t, c, pods[0])
}

func upgradeAfterCutover(t *testing.T, c *cluster) {
	// The cutover writes the destination's key into or-secrets.
	c.putSecret("app", "or-secrets", dstKeys)
	c.mustHelm("upgrade", release, chartDir, "-n", operatorNS, "--reuse-values")
	checkSourceKeys(t, c, operatorNS, minioKeys, "app/or-secrets")
	pods := waitWorkloads(t, c, "Deployment", 1)
	checkPodSecrets(t, c, pods[0])
}

func installAfterCutover(t *testing.T, c *cluster) {
	const ns = "after-cutover"
	c.namespace(ns)
	c.putSecret(ns, userDstName, dstKeys)
	c.mustHelm("install", release, chartDir, "-n", ns, "-f", valuesFile(t, "destination: {endpoint: https://s3.eu-west-1.amazonaws.com}\n"))
	checkSourceKeys(t, c, ns, minioKeys, "db/minio")
	c.mustHelm("uninstall", release, "-n", ns)
}

// checkSourceKeys: the chart's source Secret holds want, copied from from.
func checkSourceKeys(t *testing.T, c *cluster, ns string, want map[string]string, from string) {
	t.Helper()
	s := c.secret(ns, fullname+"-source")
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	if !maps.Equal(got, want) || s.Annotations["openreplay-migrator/keys-from"] != from {
		t.Errorf("Secret %s/%s-source holds %v (from %q): want %v from %s", ns, fullname, got, s.Annotations["openreplay-migrator/keys-from"], want, from)
	}
}

func checkPodSecrets(t *testing.T, c *cluster, pod corev1.Pod) {
	t.Helper()
	for _, e := range pod.Spec.Containers[0].Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if len(c.secret(pod.Namespace, ref.Name).Data[ref.Key]) == 0 {
			t.Errorf("pod %s: env %s reads key %s of Secret %s, which is empty", pod.Name, e.Name, ref.Key, ref.Name)
		}
	}
}

func switchModes(t *testing.T, c *cluster) {
	up := func(set ...string) {
		args := []string{"upgrade", release, chartDir, "-n", operatorNS, "--reuse-values"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		c.mustHelm(args...)
	}

	up("mode=copy", "shards=4")
	pods := waitWorkloads(t, c, "Job", 4)
	checkShardPods(t, pods, 4)
	m := c.stored(release, operatorNS, "monitoring")
	before := checkRelease(t, m, operatorCase("copy", 4, "mode: copy\nshards: 4\n"))
	job := m.one(t, "Job").Name
	claim := c.claimUID(t)

	// A changed copy spec replaces the Job (a Job's pod template cannot change), and the
	// new pods resume from the same checkpoints: same claim, same state settings.
	up("workers=16")
	pods = waitWorkloads(t, c, "Job", 4)
	checkShardPods(t, pods, 4)
	m = c.stored(release, operatorNS, "monitoring")
	after := checkRelease(t, m, operatorCase("copy", 4, "mode: copy\nshards: 4\nworkers: 16\n"))
	if got := m.one(t, "Job").Name; got == job {
		t.Errorf("workers changed and the Job is still %s", job)
	}
	if after.Workers != 16 {
		t.Errorf("the new Job's config has workers %d: want 16", after.Workers)
	}
	if after.StateDir != before.StateDir || after.StateS3 != before.StateS3 || !maps.Equal(after.Buckets, before.Buckets) ||
		after.Source.Endpoint != before.Source.Endpoint || after.Destination.Endpoint != before.Destination.Endpoint {
		t.Errorf("the new Job keeps its checkpoints elsewhere: state %q/%q, was %q/%q", after.StateDir, after.StateS3, before.StateDir, before.StateS3)
	}
	if uid := c.claimUID(t); uid != claim {
		t.Errorf("the state claim was replaced (uid %s, was %s): the checkpoints are gone", uid, claim)
	}

	up("mode=serve")
	waitWorkloads(t, c, "Deployment", 1)
	checkRelease(t, c.stored(release, operatorNS, "monitoring"), operatorCase("serve", 1, ""))
}

// checkShardPods: the Job controller made one pod per index, and each index with the
// chart's MIGRATOR_SHARDS is a shard the migrator accepts.
func checkShardPods(t *testing.T, pods []corev1.Pod, shards int) {
	t.Helper()
	var indexes []int
	for _, p := range pods {
		ctr := p.Spec.Containers[0]
		if err := cli.ParseArgs(ctr.Args); err != nil {
			t.Errorf("pod %s: args %q do not parse: %v", p.Name, ctr.Args, err)
		}
		idx := p.Annotations["batch.kubernetes.io/job-completion-index"]
		hasIndexEnv := slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" })
		if _, err := copy.ParseShard(idx + "/" + envValue(ctr, "MIGRATOR_SHARDS")); err != nil || !hasIndexEnv {
			t.Errorf("pod %s: index %q, MIGRATOR_SHARDS %q, JOB_COMPLETION_INDEX set %v: %v", p.Name, idx, envValue(ctr, "MIGRATOR_SHARDS"), hasIndexEnv, err)
		}
		i, _ := strconv.Atoi(idx)
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	if want := []int{0, 1, 2, 3}[:shards]; !slices.Equal(indexes, want) {
		t.Errorf("the Job's pods have indexes %v: want %v", indexes, want)
	}
}

func (c *cluster) claimUID(t *testing.T) string {
	t.Helper()
	var pvc corev1.PersistentVolumeClaim
	c.Must(t, "GET", "/api/v1/namespaces/"+operatorNS+"/persistentvolumeclaims/"+fullname+"-state", nil, &pvc)
	if pvc.DeletionTimestamp != nil {
		t.Errorf("the state claim is being deleted")
	}
	return string(pvc.UID)
}

// waitWorkloads waits until the release has exactly one workload, of kind, and the
// controllers have made exactly pods pods, all its own (a ReplicaSet of a Deployment
// counts as the Deployment's), and returns those pods.
func waitWorkloads(t *testing.T, c *cluster, kind string, pods int) []corev1.Pod {
	t.Helper()
	var last []string
	var got []corev1.Pod
	ok := poll(settle, func() bool {
		items := c.list(operatorNS, "app.kubernetes.io/instance="+release)
		var work, sets []item
		got = nil
		owners := map[string]bool{}
		for _, it := range items {
			switch it.Kind {
			case "Deployment", "Job", "CronJob":
				work = append(work, it)
			case "ReplicaSet":
				sets = append(sets, it)
			}
		}
		last = names(items)
		if len(work) != 1 || work[0].Kind != kind {
			return false
		}
		owners[string(work[0].Meta.UID)] = true
		for _, rs := range sets {
			if !ownedBy(rs.Meta.OwnerReferences, owners) {
				return false // a ReplicaSet of a Deployment that is gone
			}
			owners[string(rs.Meta.UID)] = true
		}
		for _, it := range items {
			if it.Kind != "Pod" {
				continue
			}
			var p corev1.Pod
			if json.Unmarshal(it.JSON, &p) != nil || !ownedBy(p.OwnerReferences, owners) {
				return false
			}
			got = append(got, p)
		}
		return len(got) == pods
	})
	if !ok {
		t.Fatalf("after %s the release holds %v: want one %s and %d pods of it", settle, last, kind, pods)
	}
	return got
}

func ownedBy(refs []metav1.OwnerReference, owners map[string]bool) bool {
	for _, r := range refs {
		if owners[string(r.UID)] {
			return true
		}
	}
	return false
}

func uninstall(t *testing.T, c *cluster) {
	claim := c.claimUID(t)
	orBefore, storeBefore := c.secret("app", "or-secrets").Data, c.secret("db", "minio").Data
	c.mustHelm("uninstall", release, "-n", operatorNS)

	want := []string{"PersistentVolumeClaim/" + fullname + "-state", "Secret/" + userDstName}
	var left, board []string
	if !poll(settle, func() bool {
		left, board = names(c.list(operatorNS, "")), names(c.list("monitoring", "app.kubernetes.io/instance="+release))
		return slices.Equal(left, want) && len(board) == 0
	}) {
		t.Fatalf("after uninstall %s holds %v (want %v), monitoring holds %v", operatorNS, left, want, board)
	}
	if uid := c.claimUID(t); uid != claim {
		t.Errorf("the state claim was replaced: uid %s, was %s", uid, claim)
	}
	if !maps.EqualFunc(c.secret("app", "or-secrets").Data, orBefore, slices.Equal) ||
		!maps.EqualFunc(c.secret("db", "minio").Data, storeBefore, slices.Equal) {
		t.Errorf("uninstall changed OpenReplay's Secrets")
	}

	// docs/helm.md's next step, deleting the claim by hand, works once no pod uses it.
	c.Must(t, "DELETE", "/api/v1/namespaces/"+operatorNS+"/persistentvolumeclaims/"+fullname+"-state", nil, nil)
	if !poll(settle, func() bool {
		code, _, err := c.Do("GET", "/api/v1/namespaces/"+operatorNS+"/persistentvolumeclaims/"+fullname+"-state", nil)
		return err == nil && code == 404
	}) {
		t.Errorf("the deleted state claim is still there after %s", settle)
	}
}

// poll reports whether cond held within timeout, checking every 200ms.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}
