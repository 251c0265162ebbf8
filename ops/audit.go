package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/opsui/opsui/store"
)

// AuditQuery narrows Audit.
type AuditQuery struct {
	Since time.Duration // only actions this recent; 0: all
	Limit int           // at most this many; 0: all
}

// Audit lists the actions that changed something (deploys, rollbacks,
// migrations, flushes, execs, broken locks, inventory changes), newest
// first, each with its operator: a team's shared store answers for every
// operator's machine. Runs whose opsui died read interrupted, not running.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]store.AuditEntry, error) {
	if q.Since < 0 || q.Limit < 0 {
		return nil, &InvalidError{fmt.Errorf("audit: negative --since or --limit")}
	}
	_, _ = s.Store.ReapStaleRuns(ctx)
	f := store.AuditFilter{Limit: q.Limit}
	if q.Since > 0 {
		f.Since = store.MillisOf(time.Now().Add(-q.Since))
	}
	return s.Store.Audit(ctx, f)
}
