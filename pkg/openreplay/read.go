package openreplay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// InstalledVarsPath is where current OpenReplay installs keep the live vars.yaml,
// with the install-time placeholders already replaced by real values.
const InstalledVarsPath = "/var/lib/openreplay/vars.yaml"

// Bucket is one bucket named in global.s3, e.g. {Key: "recordingsBucket", Name: "mobs"}.
type Bucket struct{ Key, Name string }

// Storage is what vars.yaml says about OpenReplay's object storage.
type Storage struct {
	Endpoint, Region, AccessKey, SecretKey, ExistingSecret string
	// Buckets is every *Bucket key of global.s3 in file order; empty names are skipped.
	Buckets      []Bucket
	AssetsOrigin string // global.assetsOrigin, may be empty
	DomainName   string // global.domainName
	Access       PublicAccess
	Minio        BundledMinio // minio.enabled
	DeleteDays   int          // chalice.env.SCH_DELETE_DAYS, 0 when not set
}

// Bucket returns the bucket name stored under key (e.g. "assetsBucket"), or "".
func (s *Storage) Bucket(key string) string {
	for _, b := range s.Buckets {
		if b.Key == key {
			return b.Name
		}
	}
	return ""
}

// awsEndpoint is what OpenReplay's charts use when global.s3.endpoint is empty
// (AWS with IAM roles).
func awsEndpoint(region string) string {
	return "https://s3." + region + ".amazonaws.com"
}

// isTemplate reports an uninstalled chart value such as {{ randAlphaNum 20 }}.
func isTemplate(v string) bool { return strings.Contains(v, "{{") }

// ReadStorage reads the vars.yaml at path; its errors name the path.
func ReadStorage(path string) (*Storage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("OpenReplay vars.yaml not found at %s (current installs keep it at %s): %w", path, InstalledVarsPath, pe.Err)
		}
		return nil, fmt.Errorf("read OpenReplay vars.yaml: %w", err)
	}
	s, err := ParseStorage(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseStorage reads global.s3 (and global.assetsOrigin, global.domainName)
// from the contents of a vars.yaml, following YAML aliases to their anchors.
func ParseStorage(data []byte) (*Storage, error) {
	_, sec, err := parseS3(data)
	if err != nil {
		return nil, err
	}
	return readSection(sec)
}

// text returns the single value paired with key k, "" for null; where names it in errors.
func text(k, v *yaml.Node, where string) (string, error) {
	r := resolve(v)
	if r == nil || r.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%s (line %d) is a %s; it must be a single value", where, k.Line, kindName(v))
	}
	if r.Tag == "!!null" {
		return "", nil
	}
	return r.Value, nil
}

func readSection(sec *s3Section) (*Storage, error) {
	s := &Storage{}
	var haveRegion bool
	for _, p := range sec.pairs() {
		key, where := p[0].Value, "global.s3."+p[0].Value
		var dst *string
		switch {
		case key == "region":
			dst, haveRegion = &s.Region, true
		case key == "endpoint":
			dst = &s.Endpoint
		case key == "accessKey":
			dst = &s.AccessKey
		case key == "secretKey":
			dst = &s.SecretKey
		case key == "existingSecret":
			dst = &s.ExistingSecret
		case strings.HasSuffix(key, "Bucket"):
			name, err := text(p[0], p[1], where)
			if err != nil {
				return nil, err
			}
			if name != "" {
				s.Buckets = append(s.Buckets, Bucket{Key: key, Name: name})
			}
			continue
		default:
			continue
		}
		v, err := text(p[0], p[1], where)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	if !haveRegion {
		return nil, fmt.Errorf("global.s3.region is missing (global.s3 is at line %d); add the bucket region, e.g. region: \"us-east-1\"", sec.s3Key.Line)
	}
	if s.Region == "" {
		return nil, errors.New("global.s3.region is empty; set the bucket region, e.g. \"us-east-1\"")
	}
	if err := checkCredentials(s); err != nil {
		return nil, err
	}
	if s.Endpoint == "" {
		s.Endpoint = awsEndpoint(s.Region)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"assetsOrigin", &s.AssetsOrigin}, {"domainName", &s.DomainName}} {
		k, v, err := lookup(sec.global, f.key, "global."+f.key)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		if *f.dst, err = text(k, v, "global."+f.key); err != nil {
			return nil, err
		}
	}
	s.Minio = readMinio(sec.root)
	s.DeleteDays = readDeleteDays(sec.root)
	if err := readAccess(sec.global, s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkCredentials rejects the chart's uninstalled placeholders. With
// existingSecret set, OpenReplay's services take their keys from that Secret,
// so placeholders there are harmless and are reported as empty keys instead.
func checkCredentials(s *Storage) error {
	for _, c := range []struct {
		key string
		val *string
	}{{"accessKey", &s.AccessKey}, {"secretKey", &s.SecretKey}} {
		if !isTemplate(*c.val) {
			continue
		}
		if s.ExistingSecret != "" {
			*c.val = ""
			continue
		}
		return fmt.Errorf("global.s3.%s is still an install-time template, not a key: this is the chart's vars.yaml, not the installed one; use the installed copy %s", c.key, InstalledVarsPath)
	}
	return nil
}
