package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/notify"
	"github.com/opsui/opsui/store"
)

// FrozenError refuses a deploy or config change of an environment inside
// one of its freeze windows, naming them.
type FrozenError struct {
	Env     string
	Freezes []store.Freeze
	Until   time.Time // when the last of them ends
}

func (e *FrozenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refused: %s is frozen until %s:", e.Env, e.Until.Format("2006-01-02 15:04 MST"))
	for i, fz := range e.Freezes {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s (%s freeze %d: %s)", fz.Reason, fz.Source, fz.ID, fz.Freeze)
	}
	b.WriteString(`; give --break-glass "REASON" to go ahead anyway (recorded with your name and sent to the app's webhooks)`)
	return b.String()
}

// Freezes returns the freeze windows of env ("" for all), the fleet
// file's and the team's.
func (s *Service) Freezes(ctx context.Context, env string) ([]store.Freeze, error) {
	return s.Store.Freezes(ctx, env)
}

// AddFreeze adds a team freeze, recorded as the service's operator's.
func (s *Service) AddFreeze(ctx context.Context, fz inventory.Freeze) (store.Freeze, error) {
	out, err := s.Store.AddFreeze(ctx, fz, s.Operator)
	if err != nil {
		return out, &InvalidError{err}
	}
	return out, nil
}

// RemoveFreeze removes team freeze id.
func (s *Service) RemoveFreeze(ctx context.Context, id int64) (store.Freeze, error) {
	return s.Store.RemoveFreeze(ctx, id)
}

// CheckFreeze returns a *FrozenError when env is inside a freeze window
// at now, nil otherwise.
func (s *Service) CheckFreeze(ctx context.Context, env string, now time.Time) error {
	fs, err := s.Store.Freezes(ctx, env)
	if err != nil {
		return err
	}
	var on []store.Freeze
	var until time.Time
	for _, fz := range fs {
		if u, ok := fz.ActiveAt(now); ok {
			on = append(on, fz)
			if u.After(until) {
				until = u
			}
		}
	}
	if len(on) == 0 {
		return nil
	}
	return &FrozenError{Env: env, Freezes: on, Until: until}
}

// freezeGate lets p's deploy run: outside every freeze, or inside one
// with the plan's break-glass reason (returned, to record). The check is
// made when the deploy starts, not when it was previewed.
func (s *Service) freezeGate(ctx context.Context, p *deploy.Plan) (*FrozenError, error) {
	err := s.CheckFreeze(ctx, p.Env.Name, time.Now())
	var fe *FrozenError
	frozen := errors.As(err, &fe)
	switch {
	case err == nil:
		return nil, nil
	case !frozen:
		return nil, fmt.Errorf("check the freezes of %s: %w", p.Env.Name, err)
	case strings.TrimSpace(p.BreakGlass) == "":
		return nil, fe
	}
	return fe, nil
}

// breakGlass records and announces a deploy let through freeze fe: the
// operator, the reason and the freeze, with the release it made.
func (s *Service) breakGlass(ctx context.Context, p *deploy.Plan, fe *FrozenError, out *deploy.Outcome, io IO) {
	ctx = context.WithoutCancel(ctx)
	releaseID := p.ReleaseID
	if out != nil && out.ReleaseID != "" {
		releaseID = out.ReleaseID
	}
	var names []string
	for _, fz := range fe.Freezes {
		names = append(names, fz.Freeze.String())
	}
	b := store.BreakGlass{App: p.App.Name, Env: p.Env.Name, ReleaseID: releaseID, Operator: s.Operator,
		Reason: strings.TrimSpace(p.BreakGlass), Freeze: strings.Join(names, "; ")}
	if err := s.Store.RecordBreakGlass(ctx, b); err != nil {
		io.orQuiet().Say(err.Error())
	}
	ev := notify.Event{Event: inventory.NotifyBreakGlass, App: b.App, Env: b.Env, ReleaseID: releaseID, Commit: p.Source.Commit,
		Subject: "break glass: " + b.Reason + " (frozen: " + b.Freeze + ")", Operator: s.Operator, Branch: p.Source.RefName()}
	for _, err := range notify.Send(ctx, p.App.Notify, ev) {
		io.orQuiet().Say("break-glass notification: " + err.Error())
	}
}

// SafetyNotes are what the releases table says beside rs: each release
// let through a freeze (who, why, which freeze) and each whose migration
// check was not safe (the verdict, and why a breaking one went ahead).
func (s *Service) SafetyNotes(ctx context.Context, rs []store.Release) ([]string, error) {
	var out []string
	glass := map[[2]string]map[string]store.BreakGlass{}
	for _, r := range rs {
		key := [2]string{r.App, r.Env}
		if _, ok := glass[key]; !ok {
			bs, err := s.Store.BreakGlasses(ctx, r.App, r.Env)
			if err != nil {
				return nil, err
			}
			glass[key] = bs
		}
		if b, ok := glass[key][r.ReleaseID]; ok {
			out = append(out, fmt.Sprintf("%s %s/%s: break glass by %s: %q (frozen: %s)", r.ReleaseID, r.App, r.Env, b.Operator, b.Reason, b.Freeze))
		}
		if r.Kind != store.KindDeploy {
			continue
		}
		c, allowed, ok, err := deploy.RecordedMigrationCheck(ctx, s.Store, r.App, r.Env, r.ReleaseID)
		if err != nil {
			return nil, err
		}
		if !ok || c.Verdict() == deploy.VerdictSafe {
			continue
		}
		note := fmt.Sprintf("%s %s/%s: migrations %s", r.ReleaseID, r.App, r.Env, c.Verdict())
		for _, o := range c.With(c.Verdict()) {
			note += fmt.Sprintf("; %s.%s %s", o.App, o.Migration, o.Op)
		}
		if allowed != "" {
			note += " (allowed: " + allowed + ")"
		}
		out = append(out, note)
	}
	return out, nil
}
