package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
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

// dialogGuard is how long a question dialog ignores keys after it is
// shown, and after each key it ignored: a probe can raise a dialog at any
// moment, and keys typed for the view underneath (a "y", a filter, text
// that ends with Enter) must not answer a question nobody has read.
const dialogGuard = 300 * time.Millisecond

// dialogStack is the modal boxes, the first one shown, and what they
// answer: the engine's questions (asker) and the changed host keys
// already shown (warned, by host).
type dialogStack struct {
	queue  []dialog
	asker  *Asker
	warned map[string]bool
}

// dialog is a modal box: an unknown host key (y accepts; n, esc and enter
// refuse), a passphrase (masked; enter gives it, esc refuses), or a changed
// host key, which can only be dismissed. A question ignores every key for
// dialogGuard after it is shown and after each key it ignored, so a key
// counts only once the operator has stopped typing and the box is there.
type dialog struct {
	q       *question            // the question answered by the dialog, nil for a warning
	changed *remote.HostKeyError // a changed key to warn about
	input   textinput.Model
	shown   time.Time // when the dialog was created
	quiet   time.Time // the last key ignored during the guard
}

func newQuestionDialog(q *question) (dialog, tea.Cmd) {
	d := dialog{q: q}
	if q.now != nil {
		d.shown = q.now()
	}
	if q.hostKey == nil {
		d.input = textinput.New()
		d.input.Prompt = "passphrase: "
		d.input.EchoMode = textinput.EchoPassword
		d.input.EchoCharacter = '•'
		return d, d.input.Focus()
	}
	return d, nil
}

// guarded reports whether a key at now falls in the dialog's guard: within
// dialogGuard of its showing (its creation, or the close of the dialog in
// front of it, whichever is later) or of the last key it ignored.
func (d dialog) guarded(a *Asker, now time.Time) bool {
	start := d.shown
	if a != nil {
		if c := a.lastClosed(); c.After(start) {
			start = c
		}
	}
	if d.quiet.After(start) {
		start = d.quiet
	}
	guard := dialogGuard
	if a != nil {
		guard = a.guardTime()
	}
	return now.Before(start.Add(guard))
}

// update handles a key; done reports that the dialog closes.
func (d dialog) update(a *Asker, k KeyMap, km tea.KeyPressMsg) (next dialog, done bool, cmd tea.Cmd) {
	if d.q == nil || a == nil {
		return d.handle(a, k, km)
	}
	now := a.now()
	if d.guarded(a, now) {
		d.quiet = now // typed before the dialog could be read: dropped
		return d, false, nil
	}
	next, done, cmd = d.handle(a, k, km)
	if done {
		a.closed(now)
	}
	return next, done, cmd
}

// handle acts on a key that counts.
func (d dialog) handle(a *Asker, k KeyMap, km tea.KeyPressMsg) (next dialog, done bool, cmd tea.Cmd) {
	switch {
	case d.changed != nil:
		if key.Matches(km, k.CloseWarning) {
			if a != nil {
				a.closed(a.now())
			}
			return d, true, nil
		}
	case d.q.hostKey != nil:
		// Default No: only y trusts the key; Enter refuses like n.
		switch {
		case key.Matches(km, k.Trust):
			a.answer(d.q, true, nil)
			return d, true, nil
		case key.Matches(km, k.Refuse):
			a.answer(d.q, false, nil)
			return d, true, nil
		}
	default:
		switch {
		case key.Matches(km, k.Unlock):
			a.answer(d.q, true, []byte(d.input.Value()))
			d.input.SetValue("")
			return d, true, nil
		case key.Matches(km, k.SkipKey):
			a.answer(d.q, false, nil)
			return d, true, nil
		}
		d.input, cmd = d.input.Update(km)
	}
	return d, false, cmd
}

// view draws the dialog's box content for width cells.
func (d dialog) view(ctx *common.Context, k KeyMap, width int) string {
	st := ctx.Styles
	hint := func(b key.Binding) string { return st.Key.Render(b.Help().Key) + st.Muted.Render(" "+b.Help().Desc) }
	var b strings.Builder
	field := func(label, value string) {
		fmt.Fprintf(&b, "%s %s\n", st.Muted.Render(fmt.Sprintf("%-12s", label)), common.Clip(value, max(10, width-13)))
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
		b.WriteString(hint(k.CloseWarning))
	case d.q.hostKey != nil:
		p := d.q.hostKey
		b.WriteString(st.Warn.Render("Unknown host key") + "\n\n")
		field("host", p.Host)
		field("address", p.Addr)
		field("key type", p.KeyType)
		field("fingerprint", p.Fingerprint)
		b.WriteString("\n" + common.Clip("Trust this "+p.KeyType+" key and record it in known_hosts?", width) + "\n\n")
		b.WriteString(d.ignoredNote(st.Muted.Render, width))
		b.WriteString(hint(k.Trust) + st.Muted.Render("  ") + hint(k.Refuse))
	default:
		b.WriteString(st.Warn.Render("Key passphrase") + "\n\n")
		field("key", d.q.keyPath)
		b.WriteString("\n" + d.input.View() + "\n\n")
		b.WriteString(d.ignoredNote(st.Muted.Render, width))
		b.WriteString(hint(k.Unlock) + st.Muted.Render("  ") + hint(k.SkipKey))
	}
	return b.String()
}

// ignoredNote says, once the dialog dropped keys, that it did: text typed
// into a passphrase box as it opened is not in it.
func (d dialog) ignoredNote(render func(...string) string, width int) string {
	if d.quiet.IsZero() {
		return ""
	}
	return render(common.Clip("keys typed as this box appeared were ignored", width)) + "\n"
}

// changedKey returns the host-key error of a probe refused for a changed
// key, or nil.
func changedKey(p remote.Probe) *remote.HostKeyError {
	var hke *remote.HostKeyError
	if p.Class == remote.ClassHostKeyChanged && errors.As(p.Err, &hke) {
		return hke
	}
	return nil
}
