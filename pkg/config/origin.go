package config

// origins says where an Endpoint's settings came from, so an error about a wrong key
// or an unreachable endpoint names the place to fix: the operator may have set the key
// in the environment, a key file, the config file or vars.yaml, and "check
// source.secretKey" sends them to the wrong one.
type origins struct {
	endpoint, accessKey, secretKey string // e.g. "MIGRATOR_SOURCE_SECRET_KEY"; "" when unset
}

// Origin is where setting ("endpoint", "accessKey" or "secretKey") came from, e.g.
// "MIGRATOR_SOURCE_SECRET_KEY", "source.secretKeyFile /run/key", "/etc/migrator.yaml",
// "global.s3.secretKey in /var/lib/openreplay/vars.yaml", "--source-endpoint"; "" when
// unknown.
func (e Endpoint) Origin(setting string) string {
	switch setting {
	case "endpoint":
		return e.from.endpoint
	case "accessKey":
		return e.from.accessKey
	case "secretKey":
		return e.from.secretKey
	}
	return ""
}

// Describe names a setting for a message: "source.secretKey (from
// MIGRATOR_SOURCE_SECRET_KEY)", or "source.secretKey" when its origin is unknown.
func (e Endpoint) Describe(side, setting string) string {
	name := side + "." + setting
	if o := e.Origin(setting); o != "" && o != name {
		return name + " (from " + o + ")"
	}
	return name
}

// SetEndpoint replaces the endpoint, recording from (e.g. "--source-endpoint") as its
// origin.
func (e *Endpoint) SetEndpoint(endpoint, from string) {
	e.Endpoint = endpoint
	e.from.endpoint = from
}

// setKeys sets the keys that are still empty to the ones found at from (vars.yaml, the
// settings cutover kept), recording that origin for each key taken.
func (e *Endpoint) setKeys(access, secret string, accessFrom, secretFrom string) {
	if e.AccessKey == "" && access != "" {
		e.AccessKey, e.from.accessKey = Secret(access), accessFrom
	}
	if e.SecretKey == "" && secret != "" {
		e.SecretKey, e.from.secretKey = Secret(secret), secretFrom
	}
}

// noteFile records path as the origin of what the config file itself set.
func (e *Endpoint) noteFile(path string) {
	if e.Endpoint != "" {
		e.from.endpoint = path
	}
	if e.AccessKey != "" {
		e.from.accessKey = path
	}
	if e.SecretKey != "" {
		e.from.secretKey = path
	}
}
