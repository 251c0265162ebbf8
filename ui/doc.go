// Package ui is opsui's console: bubbletea models for the fleet, the live
// status panel, run panes and the guided flows, built from components
// (ui/common.Component) around one root model, App.
package ui
