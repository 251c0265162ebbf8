package main

import (
	"context"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	logsview "github.com/opsui/opsui/ui/logs"
)

// logTies is the logs view's "first seen in" column over fleet f: one
// ops.ErrorTies per view, so each sighting is reported once.
func (c *consoleSession) logTies(f *inventory.Fleet) logsview.TieFunc {
	ties := c.svc.NewErrorTies(f, "")
	return func(ctx context.Context, groups []logs.Group) (map[string]string, error) {
		first, err := ties.Tie(ctx, groups)
		out := make(map[string]string, len(first))
		for k, fs := range first {
			out[k] = fs.Where()
		}
		return out, err
	}
}
