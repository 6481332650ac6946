package cutover

import (
	"context"
	"fmt"
)

// checkAssets runs CheckAssets once the reinstall returned: that reinstall is what
// deletes OpenReplay's own /sessions-assets route, so this is the moment to learn
// whether old recordings still find their styles and fonts. A failure is a reason to
// roll back; an interruption is not (the next run reinstalls and checks again).
func (c *Cutover) checkAssets(ctx context.Context, st *State) error {
	if c.CheckAssets == nil {
		return nil
	}
	c.say("requesting old asset URLs through the domain, as old recordings will")
	err := c.CheckAssets(ctx, st.Started)
	if err == nil || ctx.Err() != nil {
		return err
	}
	return &rollbackError{fmt.Errorf("old asset URLs: %w", err)}
}
