package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

var strategyKinds = []string{inventory.StrategyAll, inventory.StrategyRolling, inventory.StrategyCanary}

// The strategy step's fields.
const (
	fieldKind = iota
	fieldBatches
	fieldMaxFail
	fieldAutoRollback
	fieldCount
)

// strategyForm is the wizard's strategy step: all at once, rolling or
// canary, batch sizes, the failures tolerated, auto-rollback.
type strategyForm struct {
	app, envName     string
	hosts            []HostRelease
	kind             int
	batches, maxFail textinput.Model
	autoRollback     bool
	field            int
}

// newStrategyForm starts from the environment's default strategy.
func newStrategyForm(t pickItem, p *Preview) strategyForm {
	s := strategyForm{app: t.app, envName: t.env.Name, autoRollback: true}
	if p != nil {
		s.hosts = p.Hosts
	}
	for i, k := range strategyKinds {
		if k == t.env.Strategy {
			s.kind = i
		}
	}
	s.batches = textinput.New()
	s.batches.Prompt = ""
	s.batches.Placeholder = "N, P% or a list: 1,5,25%"
	if t.env.BatchSize > 0 {
		s.batches.SetValue(fmt.Sprint(t.env.BatchSize))
	}
	s.maxFail = textinput.New()
	s.maxFail.Prompt = ""
	s.maxFail.Placeholder = "0"
	return s
}

func (s *strategyForm) typing() bool { return s.field == fieldBatches || s.field == fieldMaxFail }

func (s *strategyForm) blur() {
	s.batches.Blur()
	s.maxFail.Blur()
}

// focus focuses the field under the cursor, if it takes text.
func (s *strategyForm) focus() tea.Cmd {
	s.blur()
	switch s.field {
	case fieldBatches:
		return s.batches.Focus()
	case fieldMaxFail:
		return s.maxFail.Focus()
	}
	return nil
}

// key moves between the fields (arrows, so that letters stay text) and
// changes the one under the cursor.
func (s *strategyForm) key(km tea.KeyPressMsg, _ KeyMap) tea.Cmd {
	switch km.String() {
	case "up":
		s.field = (s.field + fieldCount - 1) % fieldCount
		return s.focus()
	case "down":
		s.field = (s.field + 1) % fieldCount
		return s.focus()
	}
	switch s.field {
	case fieldKind:
		switch km.String() {
		case "left", "h":
			s.kind = (s.kind + len(strategyKinds) - 1) % len(strategyKinds)
		case "right", "l", "space":
			s.kind = (s.kind + 1) % len(strategyKinds)
		}
	case fieldAutoRollback:
		switch km.String() {
		case "left", "right", "space", "h", "l":
			s.autoRollback = !s.autoRollback
		}
	default:
		return s.updateInput(km)
	}
	return nil
}

// updateInput gives msg to the text field under the cursor.
func (s *strategyForm) updateInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch s.field {
	case fieldBatches:
		s.batches, cmd = s.batches.Update(msg)
	case fieldMaxFail:
		s.maxFail, cmd = s.maxFail.Update(msg)
	}
	return cmd
}

// value is the strategy chosen.
func (s strategyForm) value() deploy.Strategy {
	return deploy.Strategy{Kind: strategyKinds[s.kind], Batches: strings.TrimSpace(s.batches.Value()),
		MaxFail: strings.TrimSpace(s.maxFail.Value()), AutoRollback: s.autoRollback}
}

// view draws the fields and the plan of batches they make.
func (s strategyForm) view(st Styles, w int, plan *deploy.Plan, planErr error) string {
	var b strings.Builder
	row := func(i int, label, value string) {
		line := fmt.Sprintf("%-16s %s", label, value)
		if i == s.field {
			line = st.Cursor.Render(padRight(clip("> "+line, w), w))
		} else {
			line = clip("  "+line, w)
		}
		b.WriteString(line + "\n")
	}
	var kinds []string
	for i, k := range strategyKinds {
		if i == s.kind {
			k = "[" + k + "]"
		}
		kinds = append(kinds, k)
	}
	row(fieldKind, "strategy", strings.Join(kinds, " "))
	row(fieldBatches, "batch sizes", s.batches.View())
	row(fieldMaxFail, "failures allowed", s.maxFail.View())
	onOff := "off: hosts stay on the new release when one fails"
	if s.autoRollback {
		onOff = "on: switched hosts go back when one fails after its switch"
	}
	row(fieldAutoRollback, "auto-rollback", onOff)
	b.WriteString(st.Muted.Render(clip("↑/↓ field · ←/→/space change · enter next", w)) + "\n\n")
	switch {
	case planErr != nil:
		b.WriteString(st.Error.Render(clip("invalid: "+planErr.Error(), w)) + "\n")
	case plan != nil:
		b.WriteString(st.Header.Render(fmt.Sprintf("plan: %d hosts in %d batch(es); %d failed host(s) tolerated before no further batch starts", len(plan.Hosts), len(plan.Batches), plan.MaxFail)) + "\n")
		for i, batch := range plan.Batches {
			names := make([]string, len(batch))
			for j, h := range batch {
				names[j] = h.Name
			}
			label := fmt.Sprintf("batch %d", i+1)
			if i == 0 && plan.Strategy.Kind == inventory.StrategyCanary {
				label = "canary (pauses for your go-ahead)"
			}
			b.WriteString(clip(fmt.Sprintf("  %s: %s", label, strings.Join(names, ", ")), w) + "\n")
		}
	}
	return b.String()
}
