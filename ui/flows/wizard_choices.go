package flows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

// The wizard's choices, shown in its strategy step under the strategy's
// fields: the explicit choices the CLI has as flags.
const (
	fieldAllowBreaking = 100 + iota // --allow-breaking-migrations: only when the preview marks a breaking operation
	fieldBreakGlass                 // --break-glass "reason": only when a freeze applies
	fieldWatch                      // --watch DURATION: always, the app's by default
)

// deployChoices are what the operator chose of the wizard's explicit
// choices; each is put in the plan exactly as its flag would be.
type deployChoices struct {
	breaking      []deploy.MigrationOp // the preview's breaking operations
	old           bool                 // old code serves: breaking operations matter
	frozen        error                // the freeze the deploy would meet, nil when none
	appWatch      string               // the app's watch for the environment, in words
	allowBreaking bool                 // default No
	reason        textinput.Model      // the break-glass reason
	watch         textinput.Model      // the watch override; empty: the app's
}

// choicesFor reads what the preview says applies; what was chosen before
// stays (the operator went back and forth).
func choicesFor(prev *deployChoices, p ops.Preview) *deployChoices {
	c := prev
	if c == nil {
		c = &deployChoices{reason: textinput.New(), watch: textinput.New()}
		c.reason.Prompt, c.reason.Placeholder = "", "why deploy inside the freeze (recorded, sent to the webhooks)"
		c.watch.Prompt = ""
	}
	c.breaking, c.frozen, c.old = nil, p.Frozen, p.Current != ""
	for _, h := range p.Hosts {
		c.old = c.old || h.Release != ""
	}
	if p.MigrationCheck != nil {
		c.breaking = p.MigrationCheck.With(deploy.VerdictBreaking)
	}
	c.appWatch = "off"
	if p.Plan != nil {
		if w := p.Plan.App.Watch.For(p.Plan.Env.Name); w.On() {
			c.appWatch = w.Duration.String()
		}
	}
	c.watch.Placeholder = "the app's: " + c.appWatch + " (a duration, 0 turns it off)"
	return c
}

// fields are the choice fields that apply, in order.
func (c *deployChoices) fields() []int {
	var f []int
	if len(c.breaking) > 0 {
		f = append(f, fieldAllowBreaking)
	}
	if c.frozen != nil {
		f = append(f, fieldBreakGlass)
	}
	return append(f, fieldWatch)
}

func isChoice(field int) bool { return field >= fieldAllowBreaking }

func (c *deployChoices) typing(field int) bool {
	return field == fieldBreakGlass || field == fieldWatch
}

func (c *deployChoices) blur() {
	c.reason.Blur()
	c.watch.Blur()
}

func (c *deployChoices) focus(field int) tea.Cmd {
	switch field {
	case fieldBreakGlass:
		return c.reason.Focus()
	case fieldWatch:
		return c.watch.Focus()
	}
	return nil
}

// key changes the choice under the cursor.
func (c *deployChoices) key(field int, km tea.KeyPressMsg, k KeyMap) tea.Cmd {
	if field == fieldAllowBreaking {
		if key.Matches(km, k.ChoicePrev, k.ChoiceNext) {
			c.allowBreaking = !c.allowBreaking
		}
		return nil
	}
	return c.updateInput(field, km)
}

func (c *deployChoices) updateInput(field int, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch field {
	case fieldBreakGlass:
		c.reason, cmd = c.reason.Update(msg)
	case fieldWatch:
		c.watch, cmd = c.watch.Update(msg)
	}
	return cmd
}

// rows draws the choice fields that apply with row (the strategy form's).
func (c *deployChoices) rows(row func(f int, label, value string)) {
	for _, f := range c.fields() {
		switch f {
		case fieldAllowBreaking:
			var ops []string
			for _, o := range c.breaking {
				ops = append(ops, o.App+"."+o.Migration+" "+o.Op)
			}
			v := "[No] yes: a rolling or canary deploy is refused (" + strings.Join(ops, "; ") + ")"
			if c.allowBreaking {
				v = "no [Yes]: old code will meet " + strings.Join(ops, "; ")
			}
			row(f, "allow breaking", v)
		case fieldBreakGlass:
			row(f, "break glass", inputText(c.reason))
		case fieldWatch:
			row(f, "watch", inputText(c.watch))
		}
	}
}

// inputText is a field's text: its placeholder in full while it is
// empty and not being typed in.
func inputText(in textinput.Model) string {
	if in.Value() == "" && !in.Focused() {
		return in.Placeholder
	}
	return in.View()
}

// watchOverride is the watch typed: nil for the app's (nothing typed).
func (c *deployChoices) watchOverride() (*time.Duration, error) {
	s := strings.TrimSpace(c.watch.Value())
	if s == "" {
		return nil, nil
	}
	if s == "0" {
		d := time.Duration(0)
		return &d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("watch %q: give a duration such as 90s or 2m (0 turns the watch off)", s)
	}
	return &d, nil
}

// apply puts the choices in plan as the flags would (the CLI's
// --allow-breaking-migrations, --break-glass, --watch), and refuses it as
// the CLI does: inside a freeze without a reason, or a rolling or canary
// deploy with a breaking migration not allowed.
func (c *deployChoices) apply(plan *deploy.Plan, p ops.Preview) error {
	if c == nil {
		return nil
	}
	w, err := c.watchOverride()
	if err != nil {
		return err
	}
	plan.Watch = w
	plan.AllowBreakingMigrations = c.allowBreaking && len(c.breaking) > 0
	plan.BreakGlass = ""
	if c.frozen != nil {
		plan.BreakGlass = strings.TrimSpace(c.reason.Value())
		if plan.BreakGlass == "" {
			return fmt.Errorf("%w; type a break-glass reason to deploy anyway", c.frozen)
		}
	}
	if p.MigrationCheck != nil {
		if err := plan.Gate(*p.MigrationCheck, c.old); err != nil {
			return err
		}
	}
	return nil
}

// confirmLines say the choices made, above the confirmation.
func (c *deployChoices) confirmLines(plan *deploy.Plan) []string {
	if c == nil || plan == nil {
		return nil
	}
	var out []string
	if plan.AllowBreakingMigrations {
		var ops []string
		for _, o := range c.breaking {
			ops = append(ops, o.App+"."+o.Migration+" "+o.Op)
		}
		out = append(out, "breaking migrations allowed (as --allow-breaking-migrations): "+strings.Join(ops, "; "))
	}
	if plan.BreakGlass != "" {
		out = append(out, fmt.Sprintf("break glass: %q (recorded and announced as --break-glass)", plan.BreakGlass))
	}
	if plan.Watch != nil {
		what := "off"
		if *plan.Watch > 0 {
			what = plan.Watch.String() + " after each batch"
		}
		out = append(out, "regression watch "+what+" (as --watch; the app's: "+c.appWatch+")")
	}
	return out
}

// addChoices gives the strategy form the choices that apply to p.
func (s *deploySpec) addChoices(form *strategyForm, p ops.Preview) {
	s.choices = choicesFor(s.choices, p)
	form.choices = s.choices
	base := slices.DeleteFunc(slices.Clone(form.fields), isChoice)
	form.fields = append(base, s.choices.fields()...)
	form.field = min(form.field, len(form.fields)-1)
}
