package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/ops"
)

// askMsg brings a question of the engine to the console.
type askMsg struct{ q *question }

// listenAsker waits, in a tea.Cmd, for the asker's next question. The App
// calls it again after each one.
func listenAsker(a *Asker) tea.Cmd {
	if a == nil {
		return nil
	}
	return func() tea.Msg { return askMsg{q: <-a.questions} }
}

// dialog is a modal box: an unknown host key (y accepts; n, esc and enter
// refuse), a passphrase (masked; enter gives it, esc refuses), or a changed
// host key, which can only be dismissed.
type dialog struct {
	q       *question         // the question answered by the dialog, nil for a warning
	changed *ops.HostKeyError // a changed key to warn about
	input   textinput.Model
}

func newQuestionDialog(q *question) (dialog, tea.Cmd) {
	d := dialog{q: q}
	if q.hostKey == nil {
		d.input = textinput.New()
		d.input.Prompt = "passphrase: "
		d.input.EchoMode = textinput.EchoPassword
		d.input.EchoCharacter = '•'
		return d, d.input.Focus()
	}
	return d, nil
}

// update handles a key; done reports that the dialog closes.
func (d dialog) update(a *Asker, km tea.KeyPressMsg) (next dialog, done bool, cmd tea.Cmd) {
	switch {
	case d.changed != nil:
		switch km.String() {
		case "esc", "enter", "q":
			return d, true, nil
		}
	case d.q.hostKey != nil:
		// Default No: only y trusts the key; Enter refuses like n.
		switch km.String() {
		case "y", "Y":
			a.answer(d.q, true, nil)
			return d, true, nil
		case "n", "N", "esc", "enter":
			a.answer(d.q, false, nil)
			return d, true, nil
		}
	default:
		switch km.String() {
		case "enter":
			a.answer(d.q, true, []byte(d.input.Value()))
			d.input.SetValue("")
			return d, true, nil
		case "esc":
			a.answer(d.q, false, nil)
			return d, true, nil
		}
		d.input, cmd = d.input.Update(km)
	}
	return d, false, cmd
}

// view draws the dialog's box content for width cells.
func (d dialog) view(ctx *Context, width int) string {
	st := ctx.Styles
	var b strings.Builder
	field := func(label, value string) {
		fmt.Fprintf(&b, "%s %s\n", st.Muted.Render(fmt.Sprintf("%-12s", label)), clip(value, max(10, width-13)))
	}
	switch {
	case d.changed != nil:
		e := d.changed
		b.WriteString(st.Error.Render("WARNING: the host key of "+e.Host+" has CHANGED") + "\n\n")
		field("address", e.Addr)
		if e.Offered != nil {
			field("offered", e.Offered.Type()+" "+ssh.FingerprintSHA256(e.Offered))
		}
		for _, k := range e.Known {
			field("known", fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
		}
		if e.Revoked != nil {
			field("revoked", e.Revoked.Filename)
		}
		b.WriteString("\nSomeone may be intercepting the connection, or the host was\n" +
			"reinstalled. opsui will not connect to it. If the change is expected,\n" +
			"remove the old key from the file above and try again.\n\n")
		b.WriteString(st.Key.Render("esc") + st.Muted.Render(" close"))
	case d.q.hostKey != nil:
		p := d.q.hostKey
		b.WriteString(st.Warn.Render("Unknown host key") + "\n\n")
		field("host", p.Host)
		field("address", p.Addr)
		field("key type", p.KeyType)
		field("fingerprint", p.Fingerprint)
		b.WriteString("\nTrust this key and record it in opsui's known_hosts?\n\n")
		b.WriteString(st.Key.Render("y") + st.Muted.Render(" trust  ") + st.Key.Render("n/esc/enter") + st.Muted.Render(" refuse (default)"))
	default:
		b.WriteString(st.Warn.Render("Key passphrase") + "\n\n")
		field("key", d.q.keyPath)
		b.WriteString("\n" + d.input.View() + "\n\n")
		b.WriteString(st.Key.Render("enter") + st.Muted.Render(" unlock  ") + st.Key.Render("esc") + st.Muted.Render(" skip this key"))
	}
	return b.String()
}
