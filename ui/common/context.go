// Package common is what every component of opsui's console shares: the
// read-mostly Context (size, theme, styles, switches) and the Component
// contract. Only the root model (ui.App) returns a tea.View; components
// are plain structs that draw strings.
package common

import (
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/themes"
)

// Context is the read-mostly state every component shares: the terminal
// size, the theme and the styles derived from it, and global switches.
type Context struct {
	Width, Height int
	Theme         themes.Theme
	Styles        Styles
	// ReadOnly disables every action that changes a host; the keys stay in
	// the help with the reason.
	ReadOnly bool
}

// NewContext builds a context for a theme.
func NewContext(th themes.Theme) *Context {
	return &Context{Theme: th, Styles: NewStyles(th)}
}

// Styles are the lipgloss styles components draw with.
type Styles struct {
	Title     lipgloss.Style
	Header    lipgloss.Style // column headers
	Group     lipgloss.Style // environment / role group lines
	Cursor    lipgloss.Style // the focused row
	Selected  lipgloss.Style // the mark of a selected host
	Muted     lipgloss.Style
	OK        lipgloss.Style
	Warn      lipgloss.Style
	Error     lipgloss.Style
	Pane      lipgloss.Style // a bordered pane
	Key       lipgloss.Style
	Protected lipgloss.Style
}

// NewStyles derives the styles from a theme.
func NewStyles(th themes.Theme) Styles {
	base := lipgloss.NewStyle()
	s := Styles{
		Title:     base.Bold(true).Foreground(th.Accent),
		Header:    base.Bold(true).Foreground(th.Muted),
		Group:     base.Bold(true).Foreground(th.Accent),
		Cursor:    base.Reverse(true),
		Selected:  base.Bold(true).Foreground(th.OK),
		Muted:     base.Foreground(th.Muted),
		OK:        base.Foreground(th.OK),
		Warn:      base.Foreground(th.Warn),
		Error:     base.Bold(true).Foreground(th.Error),
		Pane:      base.Border(lipgloss.RoundedBorder()).BorderForeground(th.Border).Padding(0, 1),
		Key:       base.Bold(true).Foreground(th.Accent),
		Protected: base.Bold(true).Foreground(th.Error),
	}
	if th.Plain {
		// Without colour the cursor still needs to be seen.
		s.Cursor = base.Reverse(true)
		s.Group = base.Bold(true)
	}
	return s
}
