// Package ui is opsui's console: bubbletea models for the fleet, the live
// status panel, run panes and the guided flows, built from components
// (ui/common.Component) around one root model, App.
package ui

import (
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// Context and Styles are the components' shared context (ui/common).
type (
	Context = common.Context
	Styles  = common.Styles
)

// NewContext builds a context for a theme.
func NewContext(th themes.Theme) *Context { return common.NewContext(th) }
