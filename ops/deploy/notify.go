package deploy

import (
	"context"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/notify"
	"github.com/opsui/opsui/store"
)

// notifier sends the app's webhooks for one deploy or rollback. Sending
// never blocks or fails the deploy: failures become notes.
type notifier struct {
	r       *runner
	ev      notify.Event
	started <-chan []error
}

// notifyStart announces rel (start of a deploy, or a rollback) in the
// background.
func (r *runner) notifyStart(ctx context.Context, rel *store.Release) *notifier {
	n := &notifier{r: r, ev: notify.Event{Event: inventory.NotifyStart, App: r.plan.App.Name, Env: r.plan.Env.Name,
		ReleaseID: rel.ReleaseID, Commit: rel.Commit, Subject: rel.Subject, Branch: rel.Branch, Operator: r.Operator,
		Hosts: r.names()}}
	if r.rec != nil {
		n.ev.RunID = r.rec.RunID()
	}
	if len(r.plan.App.Notify) == 0 {
		return n
	}
	if rel.Kind == store.KindRollback {
		return n // a rollback is announced once, when it is done
	}
	n.started = notify.Async(context.WithoutCancel(ctx), r.plan.App.Notify, n.ev)
	return n
}

// finish sends the outcome and waits for both sends (bounded by the
// senders' own timeouts), keeping their failures as notes.
func (n *notifier) finish(ctx context.Context, kind string, result store.ReleaseResult, began time.Time) {
	if len(n.r.plan.App.Notify) == 0 {
		return
	}
	ev := n.ev
	switch {
	case kind == store.KindRollback || result == store.ReleaseRolledBack:
		ev.Event = inventory.NotifyRollback
	case result == store.ReleaseSuccess:
		ev.Event = inventory.NotifySuccess
	default:
		ev.Event = inventory.NotifyFailure
	}
	ev.Result, ev.Duration = result.String(), time.Since(began)
	var errs []error
	if n.started != nil {
		errs = <-n.started
	}
	errs = append(errs, notify.Send(context.WithoutCancel(ctx), n.r.plan.App.Notify, ev)...)
	for _, err := range errs {
		n.r.notef("notification: %v", err)
	}
}
