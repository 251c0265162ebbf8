package flows

import (
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// reboundKeys are testKeys with every key the flows and the wizard used
// to match as a literal bound elsewhere, as the console's config file
// rebinds them (ui's TestFlowKeysFollowTheConfig drives that through the
// root).
func reboundKeys() KeyMap {
	k := testKeys()
	for _, r := range []struct {
		b    *key.Binding
		keys []string
	}{
		{&k.FieldUp, []string{"ctrl+p"}}, {&k.FieldDown, []string{"ctrl+n"}}, {&k.ChoicePrev, []string{"<"}},
		{&k.ChoiceNext, []string{">"}}, {&k.Toggle, []string{"t"}}, {&k.Apply, []string{"ctrl+s"}},
		{&k.Back, []string{"ctrl+b"}}, {&k.Confirm, []string{"Y"}}, {&k.Run.Confirm, []string{"Y"}},
	} {
		r.b.SetKeys(r.keys...)
		r.b.SetHelp(r.keys[0], r.b.Help().Desc)
	}
	return k
}

func ctrlKey(r rune) tea.KeyPressMsg { return tea.KeyPressMsg(tea.Key{Code: r, Mod: tea.ModCtrl}) }

// The flows match their KeyMap's keys, never a literal: rebound, the
// defaults stop acting and the new keys act, in the ref list and the
// strategy form (which move with arrows only by default).
func TestFlowKeysAreTheKeyMaps(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.env.keys = reboundKeys()
	d.press("d")
	d.see("which app, to which environment?")
	for i := 0; i < 3 && !chosenIs(d.cur, "staging"); i++ {
		d.press("up")
	}
	w := d.cur.(*wizard)

	// The ref list moves with field_up/field_down.
	d.press("enter")
	d.see("main", "v1.0")
	d.send(ctrlKey('n'))
	d.press("down") // not field_down any more
	if refStepOf(w).cursor != 1 {
		t.Fatalf("ref cursor %d after ctrl+n then down, want 1", refStepOf(w).cursor)
	}
	d.send(ctrlKey('p'))
	d.send(ctrlKey('n'))
	d.press("enter")
	d.see("commits it brings")
	if w.arg != "v1.0" {
		t.Fatalf("ref %q, want v1.0", w.arg)
	}

	// The strategy form: choice_next, choice_prev; the arrows are not them.
	d.press("enter")
	d.see("[all]", "auto-rollback", "ctrl+p/ctrl+n field · < > change · enter/tab next")
	d.press(">", ">", "right")
	d.see("[canary]")
	d.press("<")
	d.see("[rolling]")
	for i := 0; i < 8 && w.strategy.at() != fieldAutoRollback; i++ {
		d.send(ctrlKey('n'))
	}
	if w.strategy.at() != fieldAutoRollback {
		t.Fatal("field_down never reached auto-rollback")
	}
	d.press("h", "space")
	if !w.strategy.autoRollback {
		t.Fatal("h or space, no longer choice keys, switched auto-rollback off")
	}
	d.press(">")
	if w.strategy.autoRollback {
		t.Fatal("> (choice_next) left auto-rollback on")
	}

	// The confirmation: Y confirms; y and apply do not, apply says so.
	d.press("enter")
	d.see("Y confirm · ctrl+b leave")
	d.send(ctrlKey('s'))
	d.see("ctrl+s does not confirm: press Y, or ctrl+b to leave")
	d.press("y", "enter", "esc")
	if d.settle(); ff.Count("deploy") != 0 || d.cur == nil {
		t.Fatalf("y, enter or esc acted (flow %T, %d deploys); confirm is Y, back ctrl+b", d.cur, ff.Count("deploy"))
	}
	d.send(ctrlKey('b'))
	if d.cur != nil || ff.Changes() != 0 {
		t.Fatalf("ctrl+b (back): flow %T, %d changes", d.cur, ff.Changes())
	}
}
