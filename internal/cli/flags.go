package cli

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// dashDash is a flag parse error naming the flag as the docs and help write it,
// --name, rather than the flag package's -name.
func dashDash(err error) string {
	msg := err.Error()
	for _, p := range []string{"for flag -", "not defined: -", "needs an argument: -"} {
		msg = strings.Replace(msg, p, strings.TrimSuffix(p, "-")+"--", 1)
	}
	return strings.Replace(msg, "for flag --", "for --", 1)
}

// choice is a string flag that takes one of a fixed set of values: a misspelt value is
// refused at once (exit 2) instead of quietly meaning the default.
type choice struct {
	value   *string
	allowed []string
}

// choiceVar defines a flag that takes def or one of others, and says which in its help.
func choiceVar(fs *flag.FlagSet, p *string, name, usage, def string, others ...string) {
	*p = def
	fs.Var(&choice{p, append([]string{def}, others...)}, name, usage)
}

func (c *choice) String() string {
	if c.value == nil {
		return ""
	}
	return *c.value
}

func (c *choice) Set(v string) error {
	if !slices.Contains(c.allowed, v) {
		return fmt.Errorf("want one of %s", strings.Join(c.allowed, ", "))
	}
	*c.value = v
	return nil
}
