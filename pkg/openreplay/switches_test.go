package openreplay

import (
	"strings"
	"testing"
)

// --disable-minio: the one line outside global.s3 that changes is minio.enabled, and it
// reads back as the boolean false (a quoted "false" would be true to helm's `if`).
func TestEditStorageDisableMinio(t *testing.T) {
	d := awsDest
	d.DisableMinio = true
	for _, tt := range []struct {
		golden string
		input  func(testing.TB) []byte
	}{
		{"real-disable-minio.golden", readReal},
		{"vars-installed-disable-minio.golden", fixture("vars-installed.yaml")},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			in := tt.input(t)
			out, err := EditStorage(in, d)
			if err != nil {
				t.Fatal(err)
			}
			diff, removed, _ := diffLines(in, out)
			checkGolden(t, tt.golden, diff)
			first, last := s3Lines(t, in)
			var outside []int
			for _, l := range removed {
				if l < first || l > last {
					outside = append(outside, l)
				}
			}
			lines := strings.Split(string(in), "\n")
			if len(outside) != 1 || strings.TrimSpace(lines[outside[0]-1]) != "enabled: true" {
				t.Fatalf("lines changed outside global.s3: %v, want only minio's enabled: true\n%s", outside, diff)
			}
			if v := lookupPath(t, out, "minio", "enabled"); v != false {
				t.Errorf("minio.enabled reads back as %#v, want false", v)
			}
			got, err := ParseStorage(out)
			if err != nil {
				t.Fatal(err)
			}
			if got.Minio != (BundledMinio{Declared: true, Enabled: false}) {
				t.Errorf("got %+v", got.Minio)
			}
			// Without the flag the same edit leaves minio alone.
			plain, err := EditStorage(in, awsDest)
			if err != nil {
				t.Fatal(err)
			}
			if v := lookupPath(t, plain, "minio", "enabled"); v != true {
				t.Errorf("without DisableMinio, minio.enabled became %#v", v)
			}
		})
	}
}

func TestEditStorageDisableMinioRefusals(t *testing.T) {
	const s3 = "global:\n  s3:\n    region: r\n    endpoint: https://e\n    accessKey: a\n    secretKey: b\n"
	d := Destination{Region: "r", Endpoint: "https://new", AccessKey: "k", SecretKey: "s", DisableMinio: true}
	for _, tt := range []struct{ name, in, want string }{
		{"no minio section", s3, "no minio section"},
		{"no enabled key", "minio:\n  image: x\n" + s3, "has no enabled key"},
		{"a quoted value", "minio:\n  enabled: \"true\"\n" + s3, "not a plain true or false"},
		{"an anchored section", "minio: &m\n  enabled: true\nother: *m\n" + s3, "alias or carries an anchor"},
		{"an inline section", "minio: {enabled: true}\n" + s3, "not an indented block"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EditStorage([]byte(tt.in), d)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "minio.enabled: false by hand") {
				t.Fatalf("got %v, want an error saying %q and the fix", err, tt.want)
			}
		})
	}
}

func TestEditStorageDisableMinioAlreadyOff(t *testing.T) {
	in := "minio:\n  enabled: false # off\nglobal:\n  s3:\n    region: r\n    endpoint: https://e\n"
	d := Destination{Region: "r", Endpoint: "https://new", DisableMinio: true}
	out, err := EditStorage([]byte(in), d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "minio:\n  enabled: false # off\n") {
		t.Errorf("got\n%s", out)
	}
}

func TestDeleteDaysFromChaliceEnv(t *testing.T) {
	const s3 = "global:\n  s3:\n    region: r\n    endpoint: https://e\n"
	for in, want := range map[string]int{
		s3: 0,
		"chalice:\n  env:\n    SCH_DELETE_DAYS: \"14\"\n" + s3: 14,
		"chalice:\n  env:\n    SCH_DELETE_DAYS: 3\n" + s3:      3,
		"chalice:\n  env:\n    SCH_DELETE_DAYS: soon\n" + s3:   0,
	} {
		s, err := ParseStorage([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if s.DeleteDays != want {
			t.Errorf("%q: got %d, want %d", in, s.DeleteDays, want)
		}
	}
}
