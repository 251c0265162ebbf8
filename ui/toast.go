package ui

import (
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ui/common"
)

// toastTTL is how long a toast stays; toastMax how many show at once.
const (
	toastTTL = 5 * time.Second
	toastMax = 3
)

// toast is a background error shown at the bottom right for a while. It
// takes no key: the screen under it works as usual.
type toast struct {
	id   int
	text string
}

// toastExpiredMsg removes toast id.
// toastStack is the toasts shown, newest last; seq numbers them.
type toastStack struct {
	items []toast
	seq   int
}

type toastExpiredMsg struct{ id int }

// addToast shows text and returns the command that removes it. The same
// text already shown is not repeated.
func (a *App) addToast(text string) tea.Cmd {
	for _, t := range a.toasts.items {
		if t.text == text {
			return nil
		}
	}
	a.toasts.seq++
	id := a.toasts.seq
	toasts := append(slices.Clone(a.toasts.items), toast{id: id, text: text})
	if len(toasts) > toastMax {
		toasts = toasts[len(toasts)-toastMax:]
	}
	a.toasts.items = toasts
	return tea.Tick(toastTTL, func(time.Time) tea.Msg { return toastExpiredMsg{id: id} })
}

// expireToast drops toast id.
func (a *App) expireToast(id int) {
	a.toasts.items = slices.DeleteFunc(slices.Clone(a.toasts.items), func(t toast) bool { return t.id == id })
}

// drawToasts writes the toasts over the last lines of body, right
// aligned, newest at the bottom; body keeps its size.
func (a App) drawToasts(body string, width int) string {
	if len(a.toasts.items) == 0 || width < 10 {
		return body
	}
	lines := strings.Split(body, "\n")
	st := a.ctx.Styles.Error.Reverse(true)
	for k, t := range slices.Backward(a.toasts.items) {
		i := len(lines) - len(a.toasts.items) + k
		if i < 0 {
			continue
		}
		box := st.Render(" " + common.Clip(t.text, min(width-4, 70)) + " ")
		keep := width - lipgloss.Width(box) - 1
		under := ansi.Truncate(lines[i], keep, "")
		lines[i] = under + strings.Repeat(" ", max(0, keep-lipgloss.Width(under))) + " " + box
	}
	return strings.Join(lines, "\n")
}
