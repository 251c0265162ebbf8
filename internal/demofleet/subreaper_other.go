//go:build !linux

package demofleet

// becomeSubreaper does nothing outside Linux: Procs.Stop relies on the
// hosts' pid files there.
func becomeSubreaper() error { return nil }
