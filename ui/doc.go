// Package ui is opsui's console: one root model, App, that owns the
// layout, the global keys and the key table (keys.go), the help, the
// dialogs and the toasts, around components that answer one contract
// (ui/common.Component). Its sub-packages are the views that stand alone:
// ui/fleet (the fleet list, the status board, the detail pane), ui/run
// (a run's feed and view, the replay of a recorded run, the past runs
// list), ui/logs (the logs view) and ui/flows (the guided flows: the
// deploy wizard, rollback, migrate, flush, the releases view and compare;
// the root shows the one open and asks before quitting under its work).
// Sub-packages never import ui: each declares the keys it matches and
// ui/keys.go binds them.
package ui
