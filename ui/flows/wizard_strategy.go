package flows

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// The strategy step's fields.
const (
	fieldKind = iota
	fieldBatches
	fieldMaxFail
	fieldAutoRollback
)

// strategyForm is the strategy step of the wizard (all at once, rolling
// or canary, batch sizes, the failures tolerated, auto-rollback) and of a
// rollback (all at once or rolling, batch sizes).
type strategyForm struct {
	app, envName     string
	kinds            []deploy.StrategyKind // the strategies offered
	fields           []int                 // the fields shown, in order
	kind             int                   // in kinds
	batches, maxFail textinput.Model
	autoRollback     bool
	field            int            // in fields
	choices          *deployChoices // the wizard's explicit choices (wizard_choices.go); nil for a rollback
}

// newStrategyForm is the wizard's, from the environment's default strategy.
func newStrategyForm(t pickItem) strategyForm {
	return newForm(t, deploy.StrategyKinds, []int{fieldKind, fieldBatches, fieldMaxFail, fieldAutoRollback})
}

// newRollbackStrategy is a rollback's: all at once or rolling, from the
// environment's default (a canary environment rolls back rolling, in its
// batches: the canary's pause is for new code).
func newRollbackStrategy(t pickItem) strategyForm {
	return newForm(t, []deploy.StrategyKind{deploy.StrategyAll, deploy.StrategyRolling}, []int{fieldKind, fieldBatches})
}

// newForm starts from the environment's default strategy, as the flags do.
func newForm(t pickItem, kinds []deploy.StrategyKind, fields []int) strategyForm {
	s := strategyForm{app: t.app, envName: t.env.Name, autoRollback: true, kinds: kinds, fields: fields}
	def := deploy.DefaultStrategy(t.env)
	want := def.Kind
	if want == deploy.StrategyCanary && !slices.Contains(kinds, want) {
		want = deploy.StrategyRolling
	}
	s.kind = max(0, slices.Index(kinds, want))
	s.batches = textinput.New()
	s.batches.Prompt = ""
	s.batches.Placeholder = "N, P% or a list: 1,5,25%"
	if len(def.Batches) > 0 {
		s.batches.SetValue(def.Batches.String())
	}
	s.maxFail = textinput.New()
	s.maxFail.Prompt = ""
	s.maxFail.Placeholder = "0"
	return s
}

// at is the field under the cursor.
func (s *strategyForm) at() int {
	if s.field >= len(s.fields) {
		return -1
	}
	return s.fields[s.field]
}

func (s *strategyForm) typing() bool {
	return s.at() == fieldBatches || s.at() == fieldMaxFail || isChoice(s.at()) && s.choices.typing(s.at())
}

func (s *strategyForm) blur() {
	s.batches.Blur()
	s.maxFail.Blur()
	if s.choices != nil {
		s.choices.blur()
	}
}

// focus focuses the field under the cursor, if it takes text.
func (s *strategyForm) focus() tea.Cmd {
	s.blur()
	switch s.at() {
	case fieldBatches:
		return s.batches.Focus()
	case fieldMaxFail:
		return s.maxFail.Focus()
	}
	if isChoice(s.at()) {
		return s.choices.focus(s.at())
	}
	return nil
}

// key moves between the fields (arrows, so that letters stay text) and
// changes the one under the cursor.
func (s *strategyForm) key(km tea.KeyPressMsg, k KeyMap) tea.Cmd {
	switch {
	case key.Matches(km, k.FieldUp):
		s.field = (s.field + len(s.fields) - 1) % len(s.fields)
		return s.focus()
	case key.Matches(km, k.FieldDown):
		s.field = (s.field + 1) % len(s.fields)
		return s.focus()
	}
	if isChoice(s.at()) {
		return s.choices.key(s.at(), km, k)
	}
	switch s.at() {
	case fieldKind:
		switch {
		case key.Matches(km, k.ChoicePrev):
			s.kind = (s.kind + len(s.kinds) - 1) % len(s.kinds)
		case key.Matches(km, k.ChoiceNext):
			s.kind = (s.kind + 1) % len(s.kinds)
		}
	case fieldAutoRollback:
		if key.Matches(km, k.ChoicePrev, k.ChoiceNext) {
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
	switch s.at() {
	case fieldBatches:
		s.batches, cmd = s.batches.Update(msg)
	case fieldMaxFail:
		s.maxFail, cmd = s.maxFail.Update(msg)
	}
	if isChoice(s.at()) {
		cmd = s.choices.updateInput(s.at(), msg)
	}
	return cmd
}

// value is the strategy chosen, its fields parsed here, once; none when
// there is no form.
func (s strategyForm) value() (deploy.Strategy, error) {
	if len(s.kinds) == 0 {
		return deploy.Strategy{}, nil
	}
	batches, err := deploy.ParseBatches(s.batches.Value())
	if err != nil {
		return deploy.Strategy{}, err
	}
	maxFail, err := deploy.ParseCount(s.maxFail.Value())
	if err != nil {
		return deploy.Strategy{}, fmt.Errorf("max-fail %q: %w", strings.TrimSpace(s.maxFail.Value()), err)
	}
	return deploy.Strategy{Kind: s.kinds[s.kind], Batches: batches, MaxFail: maxFail, AutoRollback: s.autoRollback}, nil
}

// view draws the fields and the plan of batches they make.
func (s strategyForm) view(st common.Styles, k KeyMap, w int, plan *deploy.Plan, planErr error) string {
	var b strings.Builder
	row := func(f int, label, value string) {
		if !slices.Contains(s.fields, f) {
			return
		}
		line := fmt.Sprintf("%-16s %s", label, value)
		if f == s.at() {
			line = st.Cursor.Render(common.PadRight(common.Clip("> "+line, w), w))
		} else {
			line = common.Clip("  "+line, w)
		}
		b.WriteString(line + "\n")
	}
	var kinds []string
	for i, k := range s.kinds {
		name := k.String()
		if i == s.kind {
			name = "[" + name + "]"
		}
		kinds = append(kinds, name)
	}
	row(fieldKind, "strategy", strings.Join(kinds, " "))
	row(fieldBatches, "batch sizes", s.batches.View())
	row(fieldMaxFail, "failures allowed", s.maxFail.View())
	onOff := "off: hosts stay on the new release when one fails"
	if s.autoRollback {
		onOff = "on: switched hosts go back when one fails after its switch"
	}
	row(fieldAutoRollback, "auto-rollback", onOff)
	if s.choices != nil {
		s.choices.rows(row)
	}
	b.WriteString(st.Muted.Render(common.Clip(common.KeyName(k.FieldUp)+"/"+common.KeyName(k.FieldDown)+" field · "+
		common.KeyName(k.ChoicePrev)+" "+common.KeyName(k.ChoiceNext)+" change · "+common.KeyName(k.NextStep)+" next", w)) + "\n\n")
	switch {
	case planErr != nil:
		b.WriteString(st.Error.Render(common.Clip("invalid: "+planErr.Error(), w)) + "\n")
	case plan != nil:
		b.WriteString(st.Header.Render(common.Clip(fmt.Sprintf("plan: %s in %s; %s tolerated before no further batch starts",
			deploy.Plural(len(plan.Hosts), "host", "hosts"), deploy.Plural(len(plan.Batches), "batch", "batches"),
			deploy.Plural(plan.MaxFail, "failed host", "failed hosts")), w)) + "\n")
		for i, batch := range plan.Batches {
			names := make([]string, len(batch))
			for j, h := range batch {
				names[j] = h.Name
			}
			label := fmt.Sprintf("batch %d", i+1)
			if i == 0 && plan.Strategy.Kind == deploy.StrategyCanary {
				label = "canary (pauses for your go-ahead)"
			}
			b.WriteString(common.Clip(fmt.Sprintf("  %s: %s", label, strings.Join(names, ", ")), w) + "\n")
		}
	}
	return b.String()
}
