package cli

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

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
