package ui

import (
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

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
	a.layout() // the body gives the toasts their lines
	return tea.Tick(toastTTL, func(time.Time) tea.Msg { return toastExpiredMsg{id: id} })
}

// expireToast drops toast id.
func (a *App) expireToast(id int) {
	a.toasts.items = slices.DeleteFunc(slices.Clone(a.toasts.items), func(t toast) bool { return t.id == id })
	a.layout()
}

// toastRows is how many lines the toasts take: at most toastMax, and
// never the whole screen.
func (a App) toastRows() int {
	if a.ctx.Width < 10 {
		return 0
	}
	return min(len(a.toasts.items), max(0, a.ctx.Height-3))
}

// toastLines draws the toasts on lines of their own between the body and
// the footer, right aligned, newest at the bottom: they never cover
// what the body shows.
func (a App) toastLines(width int) string {
	n := a.toastRows()
	if n == 0 {
		return ""
	}
	st := a.ctx.Styles.Error.Reverse(true)
	items := a.toasts.items[len(a.toasts.items)-n:]
	lines := make([]string, len(items))
	for i, t := range items {
		box := st.Render(" " + common.Clip(t.text, min(width-4, 70)) + " ")
		lines[i] = strings.Repeat(" ", max(0, width-lipgloss.Width(box)-1)) + box
	}
	return strings.Join(lines, "\n")
}
