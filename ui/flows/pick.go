package flows

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
)

// pickItem is an app in an environment, or an environment alone.
type pickItem struct {
	app string
	env inventory.Environment
}

func (p pickItem) String() string {
	s := p.env.Name
	if p.app != "" {
		s = p.app + " → " + p.env.Name
	}
	if p.env.Protected {
		s += " (protected)"
	}
	return s
}

// targetPicker chooses the app and environment a flow works on (or the
// environment alone), protected ones marked.
type targetPicker struct {
	items  []pickItem
	cursor int
}

// newTargetPicker lists every app in every environment (environments
// alone when envOnly), the cursor on the first of preferEnv.
func newTargetPicker(f *inventory.Fleet, envOnly bool, preferEnv string) targetPicker {
	var p targetPicker
	if f == nil {
		return p
	}
	apps := []string{""}
	if !envOnly {
		apps = nil
		for _, a := range f.Apps {
			apps = append(apps, a.Name)
		}
	}
	for _, a := range apps {
		for _, e := range f.Environments {
			p.items = append(p.items, pickItem{app: a, env: e})
		}
	}
	for i, it := range p.items {
		if it.env.Name == preferEnv {
			p.cursor = i
			break
		}
	}
	return p
}

// avoidProtected moves a cursor that starts on a protected environment
// to the first ordinary one, or to no item at all when every environment
// is protected: Enter alone must never choose production for a flow that
// changes hosts; the operator moves there on purpose.
func (p *targetPicker) avoidProtected() {
	if p.cursor < 0 || p.cursor >= len(p.items) || !p.items[p.cursor].env.Protected {
		return
	}
	p.cursor = -1
	for i, it := range p.items {
		if !it.env.Protected {
			p.cursor = i
			return
		}
	}
}

// chosen is the item under the cursor; ok is false when there is none.
func (p targetPicker) chosen() (pickItem, bool) {
	if p.cursor < 0 || p.cursor >= len(p.items) {
		return pickItem{}, false
	}
	return p.items[p.cursor], true
}

// key moves the cursor.
func (p *targetPicker) key(km tea.KeyPressMsg, k KeyMap) {
	switch {
	case key.Matches(km, k.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(km, k.Down):
		p.cursor = min(len(p.items)-1, p.cursor+1)
	}
}

func (p targetPicker) view(st common.Styles, w int, what string) string {
	var b strings.Builder
	if len(p.items) == 0 {
		return st.Warn.Render("no " + what + " in the inventory")
	}
	for i, it := range p.items {
		line := common.Clip("  "+it.String(), w)
		switch {
		case i == p.cursor:
			line = st.Cursor.Render(common.PadRight(common.Clip("> "+it.String(), w), w))
		case it.env.Protected:
			line = st.Protected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// confirmBox is a flow's last question before it changes hosts: y for an
// ordinary environment, the environment's name typed for a protected one.
// Enter alone never confirms.
type confirmBox struct {
	env   inventory.Environment
	input textinput.Model
	note  string
}

func newConfirmBox(env inventory.Environment) (confirmBox, tea.Cmd) {
	c := confirmBox{env: env}
	if !env.Protected {
		return c, nil
	}
	c.input = textinput.New()
	c.input.Prompt = "type " + env.Name + " to confirm: "
	return c, c.input.Focus()
}

// typing reports whether keys are text.
func (c confirmBox) typing() bool { return c.env.Protected }

// confirmKey is the footer's way to confirm: y, or Enter once the
// protected environment's name is typed (y is then a letter of it).
func (c confirmBox) confirmKey(k KeyMap) key.Binding {
	if c.env.Protected {
		return common.WithDesc(k.Apply, "confirm, once "+c.env.Name+" is typed")
	}
	return k.Confirm
}

// key handles a key; ok is true once the user confirmed.
func (c *confirmBox) key(km tea.KeyPressMsg, k KeyMap) (ok bool, cmd tea.Cmd) {
	c.note = ""
	if c.env.Protected {
		if key.Matches(km, k.Apply) {
			if strings.TrimSpace(c.input.Value()) == c.env.Name {
				return true, nil
			}
			c.note = fmt.Sprintf("the name did not match: type %s exactly, or %s to leave", c.env.Name, common.KeyName(k.Back))
			return false, nil
		}
		c.input, cmd = c.input.Update(km)
		return false, cmd
	}
	switch {
	case key.Matches(km, k.Confirm):
		return true, nil
	case key.Matches(km, k.Apply):
		c.note = common.KeyName(k.Apply) + " does not confirm: press " + common.KeyName(k.Confirm) + ", or " + common.KeyName(k.Back) + " to leave"
	}
	return false, nil
}

func (c confirmBox) view(st common.Styles, w int, question string, k KeyMap) string {
	var b strings.Builder
	b.WriteString(st.Warn.Render(common.Clip(question, w)) + "\n\n")
	if c.env.Protected {
		b.WriteString(st.Protected.Render(common.Clip(c.env.Name+" is a protected environment.", w)) + "\n")
		b.WriteString(c.input.View() + "\n")
	} else {
		b.WriteString(st.Key.Render(common.KeyName(k.Confirm)) + st.Muted.Render(" confirm · "+common.KeyName(k.Back)+" leave (default: no)") + "\n")
	}
	if c.note != "" {
		b.WriteString(st.Error.Render(common.Clip(c.note, w)) + "\n")
	}
	return b.String()
}
